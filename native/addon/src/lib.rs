//! Thin napi-rs exports over fastcni-core.
#[macro_use]
mod outcome;
mod net;
mod nft;
mod peer;

use napi_derive::napi;

/// Version of the native addon.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
