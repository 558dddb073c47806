//! One worker's pipeline: decode → flow → stream → http.
