//! The Exchange attack, benign and near-miss conversations live in the library
//! ([`exhound::synth::scenarios`]), shared with `exhound synth`; the tests and
//! `examples/gen_pcaps.rs` keep reaching them by this path.

pub use exhound::synth::scenarios::*;
