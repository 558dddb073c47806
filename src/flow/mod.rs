//! Flows: symmetric keys and the per-worker flow table.
//!
//! A [`FlowKey`] is the same for both directions of a conversation (addresses, ports, VLAN
//! ids), so the worker of a flow's shard sees both halves. The [`FlowTable`]
//! owns one value per flow (the TCP session and HTTP state, for the pipeline), expires flows
//! on packet time and evicts the oldest idle flows when its owner's memory budget asks.

mod key;
mod table;

pub use key::{Endpoint, FlowKey, Side};
pub use table::{FlowConfig, FlowStats, FlowTable, Keyed};
