//! The WebSocket message layer's parts: permessage-deflate (RFC 7692).

pub mod deflate;
