//! Output: EVE JSON records.
