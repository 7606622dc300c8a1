//! napi export of the dhcp daemon's exchanges (fastcni_core::kernel::dhcp): one call per exchange,
//! on a short-lived thread of ours that enters the pod namespace.

use fastcni_core as fc;
use fastcni_core::kernel::{DhcpAnswer, DhcpRequest};
use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;

use crate::net::on_own_thread;

outcome!("Outcome of dhcpExchange: the lease an ACK grants (none for a release).", DhcpOutcome, DhcpAnswer);

/// One DHCP exchange on a pod interface (acquire, renew, rebind or release), inside its namespace.
/// Kind timeout when no server answers in time, internal on a NAK, notFound without the interface,
/// netnsGone without the namespace.
#[napi(ts_return_type = "Promise<DhcpOutcome>")]
pub fn dhcp_exchange(env: &Env, req: DhcpRequest) -> Result<Object<'_>> {
    on_own_thread(env, "fastcni-dhcp", move || fc::kernel::dhcp_exchange_here(&req), DhcpOutcome::of)
}
