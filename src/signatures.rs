//! The bundled signature set, embedded at build time from `signatures/` (see `build.rs`), so
//! that the binary needs nothing beside it.

include!(concat!(env!("OUT_DIR"), "/bundled_signatures.rs"));

/// The bundled `.rules` files, in name order.
pub fn rule_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUNDLED
        .iter()
        .copied()
        .filter(|(name, _)| name.ends_with(".rules"))
}

/// The bundled `classification.config`, when there is one.
pub fn classification() -> Option<&'static str> {
    BUNDLED
        .iter()
        .find(|(name, _)| *name == "classification.config")
        .map(|(_, text)| *text)
}
