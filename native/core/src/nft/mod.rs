//! nf_tables over netlink with our own small encoder (no nft process, no rule strings):
//! pod masquerading through per-network address sets in table `inet fastcni`.

mod error;
mod masq;
mod objects;
mod pool;
mod socket;
mod wire;

#[cfg(test)]
mod tests;

pub use masq::{masq_add, masq_del, masq_list, set_name, MasqEntry, MasqRequest};
