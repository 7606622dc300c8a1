//! nf_tables over netlink with our own small encoder (no nft process, no rule strings):
//! pod masquerading through per-network address sets in table `inet fastcni`, and the bridge
//! plugin's MAC spoof check through per-network port sets in table `bridge fastcni`.

mod error;
mod masq;
mod objects;
mod pool;
mod socket;
mod spoof;
mod wire;

#[cfg(test)]
mod spoof_tests;
#[cfg(test)]
mod tests;

pub use masq::{masq_add, masq_del, masq_list, MasqEntry, MasqRequest};
pub use spoof::{spoof_add, spoof_del, spoof_list, SpoofCheckAddRequest, SpoofCheckDelRequest, SpoofCheckEntry};
