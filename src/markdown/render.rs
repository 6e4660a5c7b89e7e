//! Pass 3: render one note's markdown to HTML.
//!
//! Heading ids come from the outline (so links and the ToC agree), links are rewritten through
//! the [`LinkIndex`], code blocks are highlighted and wrapped with a copy button and, for
//! verified snippets, a badge from the last `kb verify` run. The same walk collects the note's
//! text per heading for search.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Tag, TagEnd};

use crate::config::Config;
use crate::content::Note;
use crate::highlight::Highlighter;
use crate::html::escape;
use crate::search::doc::SearchDoc;
use crate::snippet::extract::LineIndex;
use crate::snippet::{FenceInfo, Lang, SnippetKey};
use crate::verify::results::{BlockResult, Status, VerifyResults};

use super::links::{LinkIndex, Resolved};
use super::outline::{LinkKind, Outline};
use super::raw_html::HtmlLink;
use super::search_text::TextCollector;

/// Everything a note needs from the rest of the site to render.
pub struct RenderCtx<'a> {
    pub config: &'a Config,
    pub notes: &'a [Note],
    pub outlines: &'a [Outline],
    pub links: &'a LinkIndex,
    pub results: &'a VerifyResults,
    pub highlighter: &'a Highlighter,
}

/// One entry of a note's table of contents.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TocItem {
    pub level: u8,
    pub id: String,
    pub text: String,
}

/// What a verified block looks like on the status page.
#[derive(Debug, Clone, PartialEq)]
pub struct SnippetInfo {
    pub key: SnippetKey,
    pub id: String,
    pub line: usize,
    pub lang: String,
    /// `None`: never ran (no result yet).
    pub status: Option<Status>,
    /// Skip reason from the attributes or the result.
    pub reason: Option<String>,
    pub result: Option<BlockResult>,
    /// Anchor of the block on the note page.
    pub anchor: String,
}

/// A rendered note.
#[derive(Debug, Clone)]
pub struct RenderedNote {
    pub html: String,
    pub toc: Vec<TocItem>,
    pub search: SearchDoc,
    /// Runnable (or skipped) blocks, in order.
    pub snippets: Vec<SnippetInfo>,
    /// Text of the first paragraph, for cards when the note has no summary.
    pub excerpt: String,
    /// Characters of prose (for reading time).
    pub chars: usize,
}

/// Render note `index`.
pub fn render_note(ctx: &RenderCtx<'_>, index: usize) -> RenderedNote {
    let _rendering = super::embeds::Rendering::enter(index);
    let embed_site = super::embeds::Site {
        notes: ctx.notes,
        outlines: ctx.outlines,
        links: ctx.links,
    };
    let whole = |i: usize| render_note(ctx, i).html;
    // After an embed shown as a block, the rest of its paragraph opens a new one.
    let mut after_embed = false;
    let note = &ctx.notes[index];
    let outline = &ctx.outlines[index];
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut text = TextCollector::default();
    let mut snippets = Vec::new();
    let mut heading_no = 0usize;
    let mut ordinal = 0usize;
    let mut code: Option<(FenceInfo, String)> = None;
    let mut wiki_text: Option<String> = None;
    let lines = LineIndex::new(&note.body);
    // File line of the fenced block being collected (set at its start event).
    let mut block_line = note.body_line;

    // The last character of prose before a soft line break, to drop the break between two
    // Chinese or Japanese characters (see `line_breaks`).
    let mut last_char: Option<char> = None;
    let mut parser = super::events::events(&note.body).peekable();
    let title_dropped = super::title::drop_title_heading(&mut parser, outline, note);
    if title_dropped {
        heading_no = 1;
        // Links to the title's id still land on the page (its top).
        if let Some(h) = outline.headings.first() {
            events.push(Event::Html(CowStr::from(format!(
                "<a id=\"{}\"></a>\n",
                escape(&h.id)
            ))));
        }
    }
    // `![[note]]` in running text is a link to the note: the End of the image closes a link.
    let mut embeds_open = 0usize;
    let mut terms_seen = 0usize;
    while let Some((ev, range)) = parser.next() {
        if std::mem::take(&mut after_embed) {
            match ev {
                Event::SoftBreak | Event::HardBreak => {
                    after_embed = true;
                    continue;
                }
                Event::End(TagEnd::Paragraph) => {
                    text.end_paragraph();
                    continue;
                }
                _ => events.push(Event::Start(Tag::Paragraph)),
            }
        }
        if let Some((_, buf)) = code.as_mut() {
            match ev {
                Event::Text(t) => buf.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let (info, buf) = code.take().unwrap_or_default();
                    let buf = super::includes::expand(&buf, note, &ctx.config.root);
                    text.code(&buf);
                    let (html, snippet) =
                        render_code_block(ctx, note, ordinal, block_line, &info, &buf);
                    if let Some(s) = snippet {
                        snippets.push(s);
                    }
                    if !html.is_empty() {
                        events.push(Event::Html(CowStr::from(html)));
                    }
                }
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                let id = outline
                    .headings
                    .get(heading_no)
                    .map(|h| h.id.clone())
                    .unwrap_or_default();
                text.start_heading(&id);
                events.push(Event::Html(CowStr::from(format!(
                    "<h{} id=\"{}\">",
                    level as u8,
                    escape(&id)
                ))));
            }
            Event::End(TagEnd::Heading(level)) => {
                let id = outline
                    .headings
                    .get(heading_no)
                    .map(|h| h.id.clone())
                    .unwrap_or_default();
                heading_no += 1;
                text.end_heading();
                events.push(Event::Html(CowStr::from(format!(
                    "<a class=\"kb-anchor\" href=\"#{}\" aria-label=\"链接到本节\">#</a></h{}>\n",
                    escape(&id),
                    level as u8
                ))));
            }
            Event::Start(Tag::DefinitionListTitle) => {
                let id = outline.terms.get(terms_seen).map_or("", String::as_str);
                terms_seen += 1;
                events.push(Event::Html(CowStr::from(format!(
                    "<dt id=\"{}\">",
                    escape(id)
                ))));
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                block_line = note.body_line + lines.line_of(range.start);
                let info = match kind {
                    CodeBlockKind::Fenced(info) => {
                        ordinal += 1;
                        crate::snippet::info::parse(&info)
                            .unwrap_or_else(|_| FenceInfo::plain(&info))
                    }
                    CodeBlockKind::Indented => FenceInfo::default(),
                };
                code = Some((info, String::new()));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let kind = LinkKind::of_link(link_type);
                let resolved = ctx.links.resolve(ctx.notes, index, &dest_url, kind);
                let new_dest = match LinkIndex::href(ctx.notes, &resolved) {
                    Some(url) => CowStr::from(url),
                    None => dest_url.clone(),
                };
                if let (
                    LinkType::WikiLink { has_pothole: false },
                    Resolved::Note {
                        index: to,
                        anchor: None,
                    },
                ) = (link_type, &resolved)
                {
                    wiki_text = ctx.notes[*to].meta.title.clone();
                }
                events.push(Event::Start(Tag::Link {
                    link_type,
                    dest_url: new_dest,
                    title,
                    id,
                }));
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let new_dest = match ctx
                    .links
                    .resolve(ctx.notes, index, &dest_url, LinkKind::Image)
                {
                    Resolved::Asset(url) => {
                        let sized = match (link_type, parser.peek()) {
                            (
                                LinkType::WikiLink { has_pothole: true },
                                Some((Event::Text(t), _)),
                            ) => super::embeds::sized_image(&url, t),
                            _ => None,
                        };
                        if let Some(img) = sized {
                            parser.next(); // the size
                            parser.next(); // the image's end
                            events.push(Event::InlineHtml(CowStr::from(img)));
                            continue;
                        }
                        CowStr::from(url)
                    }
                    Resolved::Note { index: to, anchor } => {
                        let shown = super::embeds::alone_on_line(&note.body, &range)
                            .then(|| {
                                let a = anchor.as_deref();
                                super::embeds::embed(&embed_site, to, a, &dest_url, &whole)
                            })
                            .flatten();
                        if let Some(html) = shown {
                            // Its own block: out of the paragraph it was written in.
                            if events.last() == Some(&Event::Start(Tag::Paragraph)) {
                                events.pop();
                            } else {
                                events.push(Event::End(TagEnd::Paragraph));
                            }
                            events.push(Event::Html(CowStr::from(html)));
                            for (ev, _) in parser.by_ref() {
                                if ev == Event::End(TagEnd::Image) {
                                    break;
                                }
                            }
                            after_embed = true;
                            continue;
                        }
                        embeds_open += 1;
                        if matches!(link_type, LinkType::WikiLink { has_pothole: false }) {
                            wiki_text = ctx.notes[to].meta.title.clone();
                        }
                        events.push(Event::Start(Tag::Link {
                            link_type,
                            dest_url: CowStr::from(LinkIndex::url(
                                ctx.notes,
                                to,
                                anchor.as_deref(),
                            )),
                            title,
                            id,
                        }));
                        continue;
                    }
                    _ => dest_url,
                };
                events.push(Event::Start(Tag::Image {
                    link_type,
                    dest_url: new_dest,
                    title,
                    id,
                }));
            }
            Event::Text(t) => {
                let t = match wiki_text.take() {
                    Some(title) => CowStr::from(title),
                    None => t,
                };
                // `text ^block-id` ending a block: the id is an anchor, not text.
                let ends = matches!(
                    parser.peek(),
                    Some((
                        Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableCell),
                        _
                    ))
                );
                let t = match super::embeds::strip_block_id(&t).filter(|_| ends) {
                    Some((before, id)) => {
                        events.push(Event::InlineHtml(CowStr::from(format!(
                            "<a id=\"^{}\"></a>",
                            escape(id)
                        ))));
                        CowStr::from(before.to_string())
                    }
                    None => t,
                };
                text.text(&t);
                last_char = t.chars().next_back().or(last_char);
                events.push(Event::Text(t));
            }
            Event::InlineMath(_) | Event::DisplayMath(_) => {
                let ev = super::math::event(ev, &range, &note.body);
                if let Event::Text(t) = &ev {
                    text.text(t);
                }
                events.push(ev);
            }
            Event::Code(t) => {
                text.text(&t);
                last_char = t.chars().next_back().or(last_char);
                events.push(Event::Code(t));
            }
            Event::Start(Tag::Paragraph) => {
                last_char = None;
                text.start_paragraph();
                events.push(Event::Start(Tag::Paragraph));
            }
            Event::End(TagEnd::Paragraph) => {
                text.end_paragraph();
                events.push(Event::End(TagEnd::Paragraph));
            }
            // Words of two list items, cells or a callout's title and body are not one word.
            Event::End(
                TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            ) => {
                text.push_space();
                events.push(ev);
            }
            Event::SoftBreak
                if last_char.zip(next_text_char(parser.peek())).is_some_and(
                    |(before, after)| super::line_breaks::joins_without_space(before, after),
                ) => {}
            Event::SoftBreak | Event::HardBreak => {
                text.text(" ");
                events.push(ev);
            }
            // Raw HTML (a callout's box too): its links rewritten; a block separates words.
            Event::Html(ref raw) | Event::InlineHtml(ref raw) => {
                let inline = matches!(ev, Event::InlineHtml(_));
                if !inline {
                    text.push_space();
                }
                let kind_of = |k| match k {
                    HtmlLink::Href => LinkKind::Inline,
                    HtmlLink::Src => LinkKind::Image,
                };
                let out = super::raw_html::rewrite(raw, |dest, k| {
                    let resolved = ctx.links.resolve(ctx.notes, index, dest, kind_of(k));
                    LinkIndex::href(ctx.notes, &resolved)
                });
                let out = CowStr::from(out.into_owned());
                events.push(if inline {
                    Event::InlineHtml(out)
                } else {
                    Event::Html(out)
                });
            }
            Event::End(TagEnd::Image) if embeds_open > 0 => {
                embeds_open -= 1;
                events.push(Event::End(TagEnd::Link));
            }
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(note.body.len() * 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());

    let toc = outline
        .headings
        .iter()
        .skip(usize::from(title_dropped))
        .filter(|h| (2..=3).contains(&h.level))
        .map(|h| TocItem {
            level: h.level,
            id: h.id.clone(),
            text: h.text.clone(),
        })
        .collect();
    let (sections, excerpt, chars) = text.finish();
    let search = SearchDoc {
        url: note.url.clone(),
        title: note.meta.title.clone().unwrap_or_default(),
        tags: note.meta.tags.clone(),
        date: note.meta.date.map(|d| d.format("%Y-%m-%d").to_string()),
        source: note.rel.clone(),
        sections,
    };
    RenderedNote {
        html,
        toc,
        search,
        snippets,
        excerpt,
        chars,
    }
}

/// HTML for one code block (empty for `hidden`), and its status-page entry if it is verified.
fn render_code_block(
    ctx: &RenderCtx<'_>,
    note: &Note,
    ordinal: usize,
    line: usize,
    info: &FenceInfo,
    text: &str,
) -> (String, Option<SnippetInfo>) {
    let lang = info
        .lang
        .as_ref()
        .map(|l| l.as_str().to_string())
        .unwrap_or_default();
    let attrs = &info.attrs;
    let key = SnippetKey {
        note: note.rel.clone(),
        ordinal,
    };
    let anchor = format!("snippet-{ordinal}");
    let snippet = (attrs.run || attrs.skip.is_some() && !attrs.output).then(|| {
        let result = ctx.results.get(&key).cloned();
        let reason = attrs
            .skip
            .as_ref()
            .map(|s| s.reason.clone().unwrap_or_else(|| "skip".into()))
            .or_else(|| result.as_ref().and_then(|r| r.reason.clone()));
        let status = if attrs.skip.is_some() {
            Some(Status::Skipped)
        } else {
            result.as_ref().map(|r| r.status)
        };
        SnippetInfo {
            id: attrs.id.clone().unwrap_or_else(|| key.to_string()),
            key: key.clone(),
            line,
            lang: lang.clone(),
            status,
            reason,
            result,
            anchor: anchor.clone(),
        }
    });
    if attrs.hidden {
        return (String::new(), snippet);
    }
    if super::mermaid::is_diagram(info) {
        return (super::mermaid::render(text), snippet);
    }
    let body = match info.lang {
        Some(Lang::Console) => ctx.highlighter.cached("console", "console", text, || {
            super::console::render_console(text)
        }),
        _ => ctx.highlighter.highlight(&lang, text),
    };
    let mut head = String::new();
    let label = if attrs.output {
        "输出".to_string()
    } else {
        lang.clone()
    };
    if !label.is_empty() {
        head.push_str(&format!(
            "<span class=\"kb-lang\">{}</span>",
            escape(&label)
        ));
    }
    if let Some(f) = &info.caption {
        head.push_str(&format!("<span class=\"kb-file\">{}</span>", escape(f)));
    }
    if let Some(s) = &snippet {
        head.push_str(&super::badge::badge(
            s.status,
            s.reason.as_ref(),
            s.result.as_ref(),
        ));
    }
    head.push_str(
        "<button class=\"kb-copy\" type=\"button\" aria-label=\"复制代码\">复制</button>",
    );
    let class = if attrs.output {
        "kb-code kb-code-output"
    } else {
        "kb-code"
    };
    let id_attr = if snippet.is_some() {
        format!(" id=\"{anchor}\"")
    } else {
        String::new()
    };
    let code_class = if lang.is_empty() {
        String::new()
    } else {
        format!(" class=\"language-{}\"", escape(&lang))
    };
    let mut html = format!(
        "<div class=\"{class}\"{id_attr} data-lang=\"{}\"><div class=\"kb-code-head\">{head}</div><pre class=\"hl-code\"><code{code_class}>{body}</code></pre>",
        escape(&lang)
    );
    if let Some(SnippetInfo {
        result: Some(r), ..
    }) = &snippet
    {
        if !r.observed.is_empty() {
            html.push_str(&format!(
                "<details class=\"kb-observed\"><summary>实际输出 · {}</summary><pre><code>{}</code></pre></details>",
                r.date.format("%Y-%m-%d %H:%M UTC"),
                escape(&r.observed)
            ));
        }
    }
    html.push_str("</div>\n");
    (html, snippet)
}

/// The first character of the event after a soft break, if it is text.
fn next_text_char(next: Option<&(Event<'_>, std::ops::Range<usize>)>) -> Option<char> {
    match next {
        Some((Event::Text(t), _)) => t.chars().next(),
        _ => None,
    }
}
