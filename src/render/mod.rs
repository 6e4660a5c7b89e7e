//! Stage 5: templates. Tera templates from the theme, filled from view structs.
//!
//! The default theme (`themes/default/`) is compiled into the binary; a theme directory (kb.toml
//! `theme`, or `themes/default/` in the knowledge base) overrides any template or static file by
//! name. Templates never see internal types, only [`views`].

pub mod theme;
pub mod views;

pub use theme::Theme;
