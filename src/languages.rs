//! The one table of code block language names: the words a fence may start with, the name kb
//! knows each language by, and the syntax that colours it.
//!
//! Notes written for GitHub, Hugo, Zola, mdBook or VitePress name one language many ways
//! (`ts` and `typescript`, `yml` and `yaml`, `ps1` and `pwsh`, Hugo's `go-html-template`).
//! [`find`] maps every such word to one [`Language`]; `snippet::Lang` takes kb's runnable
//! languages from it and `highlight` the syntax. A word the table does not hold is looked up by
//! the highlighter as a file extension, then as a syntax name (`lua`, `zig`, `nix`), so the
//! table need not hold every language: it holds the ones kb runs, the common ones (its tests pin
//! them) and every name that lookup would miss or get wrong.

/// The syntax of every shell: one for sh, bash and zsh.
const BASH: &str = "Bourne Again Shell (bash)";

/// One language and the words that name it.
#[derive(Debug, PartialEq, Eq)]
pub struct Language {
    /// kb's name for it (lower case): what `snippet::Lang` matches, the first word most notes use.
    pub name: &'static str,
    /// Other fence words for it (lower case).
    pub aliases: &'static [&'static str],
    /// The syntax that colours it, by its name in the highlighter's syntax sets; `None`: shown as
    /// plain text on purpose (directory trees, ASCII diagrams, program output).
    pub syntax: Option<&'static str>,
}

const fn lang(
    name: &'static str,
    aliases: &'static [&'static str],
    syntax: &'static str,
) -> Language {
    Language {
        name,
        aliases,
        syntax: Some(syntax),
    }
}

/// Every language kb names. Aliases are unique across the table (a test checks it), and every
/// syntax is in the highlighter's set (another test).
pub const LANGUAGES: &[Language] = &[
    // kb runs these (`snippet::Lang` variants): their names are fixed.
    lang("go", &["golang"], "Go"),
    lang("sh", &["shell"], BASH),
    lang("bash", &[], BASH),
    lang("c", &[], "C"),
    lang("python", &["py", "python3", "py3"], "Python"),
    lang(
        "console",
        &["shell-session", "shellsession", "sh-session", "terminal"],
        BASH,
    ),
    lang("dockerfile", &["docker", "containerfile"], "Dockerfile"),
    // shells
    lang("zsh", &["ksh", "ash"], BASH),
    lang("fish", &[], "Fish"),
    lang(
        "powershell",
        &["ps1", "pwsh", "ps", "posh", "psm1"],
        "PowerShell",
    ),
    lang("bat", &["batch", "cmd", "dos", "winbatch"], "Batch File"),
    // the web
    lang("html", &["htm", "xhtml"], "HTML"),
    lang(
        "xml",
        &["svg", "xsd", "xsl", "xslt", "rss", "atom", "plist", "wsdl"],
        "XML",
    ),
    lang("css", &[], "CSS"),
    lang("scss", &[], "SCSS"),
    lang("sass", &[], "Sass"),
    lang("less", &[], "Less"),
    lang("stylus", &["styl"], "Stylus"),
    lang(
        "javascript",
        &["js", "mjs", "cjs", "jsx", "node", "nodejs"],
        "JavaScript (Babel)",
    ),
    lang("typescript", &["ts", "mts", "cts"], "TypeScript"),
    lang("tsx", &[], "TypeScriptReact"),
    lang("vue", &[], "Vue Component"),
    lang("svelte", &[], "Svelte"),
    lang(
        "json",
        &["jsonc", "json5", "jsonl", "ndjson", "geojson"],
        "JSON",
    ),
    lang("graphql", &["gql"], "GraphQL"),
    lang("http", &[], "HTTP Request and Response"),
    // templates: Go templates are HTML with `{{ }}` actions, which the Twig syntax colours
    // (inside attribute values too, where the Jinja2 one does not); Tera is Jinja2's syntax.
    lang(
        "go-html-template",
        &[
            "gotmpl",
            "go-template",
            "go-text-template",
            "gohtml",
            "gotemplate",
        ],
        "HTML (Twig)",
    ),
    lang(
        "jinja",
        &[
            "jinja2",
            "j2",
            "tera",
            "nunjucks",
            "njk",
            "django",
            "htmldjango",
        ],
        "HTML (Jinja2)",
    ),
    lang("twig", &["liquid"], "HTML (Twig)"),
    lang("erb", &["rhtml"], "HTML (Rails)"),
    // configuration and data
    lang("toml", &[], "TOML"),
    lang("yaml", &["yml"], "YAML"),
    lang(
        "ini",
        &["cfg", "dosini", "editorconfig", "systemd", "desktop"],
        "INI",
    ),
    lang("properties", &["java-properties"], "Java Properties"),
    lang("dotenv", &["env"], "DotENV"),
    lang("nginx", &["nginxconf"], "nginx"),
    lang("apache", &["apacheconf", "htaccess"], "Apache Conf"),
    lang("terraform", &["tf", "hcl", "tfvars"], "Terraform"),
    lang("protobuf", &["proto", "proto3"], "Protocol Buffer"),
    lang("csv", &[], "Separated Values"),
    lang("tsv", &[], "Tab Separated Values"),
    lang("diff", &["patch", "udiff"], "Diff"),
    lang("makefile", &["make", "mk", "mak"], "Makefile"),
    lang("ssh-config", &["sshconfig", "ssh_config"], "SSH Config"),
    lang("crontab", &["cron"], "Crontab"),
    lang("gomod", &["go.mod"], "Gomod"),
    // programming languages
    lang("rust", &["rs"], "Rust"),
    lang("kotlin", &["kt", "kts"], "Kotlin"),
    lang("cpp", &["c++", "cxx", "cc", "hpp", "hxx"], "C++"),
    lang("csharp", &["cs", "c#"], "C#"),
    lang("fsharp", &["fs", "f#"], "F#"),
    lang("objective-c", &["objc", "objectivec"], "Objective-C"),
    lang("ruby", &["rb"], "Ruby"),
    lang("perl", &["pl"], "Perl"),
    lang("r", &["rlang"], "R"),
    lang(
        "sql",
        &[
            "mysql",
            "postgres",
            "postgresql",
            "psql",
            "pgsql",
            "plsql",
            "sqlite",
            "tsql",
        ],
        "SQL",
    ),
    lang("haskell", &["hs"], "Haskell"),
    lang("elixir", &["ex", "exs"], "Elixir"),
    lang("erlang", &["erl"], "Erlang"),
    lang("clojure", &["clj", "cljs", "edn"], "Clojure"),
    lang("groovy", &["gradle"], "Groovy"),
    lang("julia", &["jl"], "Julia"),
    lang("ocaml", &["ml"], "OCaml"),
    lang(
        "lisp",
        &["elisp", "emacs-lisp", "common-lisp", "scheme"],
        "Lisp",
    ),
    lang("latex", &["tex"], "LaTeX"),
    lang("asm", &["nasm", "x86asm", "assembly"], "x86_64 Assembly"),
    lang("regex", &["regexp"], "Regular Expression"),
    lang("dot", &["graphviz"], "Graphviz (DOT)"),
    lang("markdown", &["md", "mkd"], "Markdown"),
    lang("rst", &["restructuredtext"], "reStructuredText"),
    lang("asciidoc", &["adoc"], "AsciiDoc (Asciidoctor)"),
    lang("vim", &["viml", "vimscript"], "VimL"),
    lang("coffeescript", &["coffee"], "CoffeeScript"),
    lang("pascal", &["delphi", "pas"], "Pascal"),
    lang("solidity", &["sol"], "Solidity"),
    lang("systemverilog", &["sv"], "SystemVerilog"),
    lang("manpage", &["man"], "Manpage"),
    lang("groff", &["troff", "nroff"], "Groff/troff"),
    lang("lean", &["lean4"], "Lean 4"),
    // shown as they are
    Language {
        name: "text",
        aliases: &[
            "plain",
            "plaintext",
            "txt",
            "none",
            "nohighlight",
            "no-highlight",
            "output",
            "tree",
            "goat",
            "ascii",
            "ansi",
            "raw",
        ],
        syntax: None,
    },
];

/// The table's entry for a fence word (any case).
pub fn find(word: &str) -> Option<&'static Language> {
    let word = word.to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|l| l.name == word || l.aliases.contains(&word.as_str()))
}

/// kb's name for a fence word: `Golang` -> `go`; a word the table lacks, in lower case.
pub fn canonical(word: &str) -> String {
    match find(word) {
        Some(l) => l.name.to_string(),
        None => word.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_names_one_language() {
        let mut seen = std::collections::HashMap::new();
        for l in LANGUAGES {
            for w in std::iter::once(&l.name).chain(l.aliases) {
                assert_eq!(*w, w.to_ascii_lowercase(), "table words are lower case");
                if let Some(other) = seen.insert(*w, l.name) {
                    panic!("`{w}` names both `{other}` and `{}`", l.name);
                }
            }
        }
    }

    #[test]
    fn aliases_map_to_kb_names() {
        for (word, name) in [
            ("Golang", "go"),
            ("ts", "typescript"),
            ("yml", "yaml"),
            ("pwsh", "powershell"),
            ("ps1", "powershell"),
            ("gotmpl", "go-html-template"),
            ("tera", "jinja"),
            ("j2", "jinja"),
            ("tf", "terraform"),
            ("hcl", "terraform"),
            ("proto", "protobuf"),
            ("kt", "kotlin"),
            ("shell-session", "console"),
            ("Dockerfile", "dockerfile"),
            ("zsh", "zsh"),
            ("tree", "text"),
        ] {
            assert_eq!(canonical(word), name, "{word}");
        }
        assert_eq!(
            canonical("Brainfuck"),
            "brainfuck",
            "unknown words are kept"
        );
        assert_eq!(find("tree").unwrap().syntax, None);
    }
}
