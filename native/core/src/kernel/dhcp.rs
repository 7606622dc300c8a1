//! DHCPv4 exchanges of the dhcp daemon (`fastcni dhcp-daemon`), one call each, inside the pod's
//! network namespace on a thread of ours: acquire (DISCOVER → OFFER → REQUEST → ACK), renew
//! (unicast REQUEST to the server), rebind (broadcast REQUEST) and release. The lease's life
//! (T1, T2, expiry, persistence) is the daemon's, in TypeScript; messages are encoded and decoded
//! by the `dhcproto` crate. A UDP socket on port 68 bound to the interface (SO_BINDTODEVICE) with
//! the BOOTP broadcast flag set takes the place of the reference's packet socket
//! (https://github.com/containernetworking/plugins/blob/main/plugins/ipam/dhcp/lease.go): the
//! interface has no address yet, so the server must broadcast its answers.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use dhcproto::v4::{self, DhcpOption, Flags, Message, MessageType, OptionCode, UnknownOption};
use dhcproto::{Decodable, Encodable};

use super::addr;
use super::link;
use super::netns;
use super::rtnl::Rtnl;
use crate::error::{Failure, FailureKind, Result};

const CLIENT_PORT: u16 = 68;
const SERVER_PORT: u16 = 67;

/// Which exchange a [`DhcpRequest`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "camelCase"))]
pub enum DhcpExchange {
    /// DISCOVER, OFFER, REQUEST, ACK: a new lease
    #[default]
    Acquire,
    /// REQUEST with ciaddr, unicast to the server that granted the lease (state RENEWING)
    Renew,
    /// REQUEST with ciaddr, broadcast to any server (state REBINDING)
    Rebind,
    /// RELEASE, unicast to the server; no answer
    Release,
}

/// A DHCP option the client sends: its code and raw value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct DhcpOptionValue {
    pub code: u8,
    pub value: Vec<u8>,
}

/// One DHCP exchange on a pod interface.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct DhcpRequest {
    /// the pod's network namespace (a path the calling process can open)
    pub netns: String,
    pub ifname: String,
    pub exchange: DhcpExchange,
    /// the client identifier's bytes after its type byte (0: not a hardware address)
    pub client_id: String,
    /// the leased address: ciaddr of renew, rebind and release
    pub address: Option<String>,
    /// the server identifier of the lease: destination of renew and release
    pub server: Option<String>,
    /// the parameter request list (option 55)
    pub request: Vec<u8>,
    /// options sent as given (host-name, vendor class…), except on release
    pub provide: Vec<DhcpOptionValue>,
    /// give up after this long without an answer (milliseconds)
    pub timeout_ms: u32,
    /// send the message again after this long without an answer (milliseconds)
    pub resend_ms: u32,
}

/// A route of a DHCP answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct DhcpRoute {
    /// e.g. 10.0.0.0/8
    pub dst: String,
    /// undefined = on link (option 121's router 0.0.0.0)
    pub gw: Option<String>,
}

/// What a server's ACK grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct DhcpLease {
    /// yiaddr, e.g. 10.9.0.50
    pub address: String,
    /// from the subnet mask option; undefined when the server sent none
    pub prefix_len: Option<u32>,
    /// the first router of option 3
    pub router: Option<String>,
    /// the server identifier (option 54), else the answer's source address
    pub server: String,
    /// option 51, seconds
    pub lease_secs: u32,
    /// option 58 (T1), seconds
    pub renew_secs: Option<u32>,
    /// option 59 (T2), seconds
    pub rebind_secs: Option<u32>,
    /// option 121 (RFC 3442), in order
    pub classless_routes: Vec<DhcpRoute>,
    /// option 33 (classful destinations)
    pub static_routes: Vec<DhcpRoute>,
    /// option 6
    pub dns_servers: Vec<String>,
    /// option 15
    pub domain_name: Option<String>,
}

/// What an exchange brought back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct DhcpAnswer {
    /// the lease the ACK grants; undefined after a release, which has no answer
    pub lease: Option<DhcpLease>,
}

/// Run one exchange inside the request's namespace. Acquire, renew and rebind return the lease the
/// ACK grants; release none. A NAK is kind internal, no answer in time kind timeout, a
/// missing interface kind notFound, a missing namespace kind netnsGone.
pub fn dhcp_exchange_here(req: &DhcpRequest) -> Result<DhcpAnswer> {
    let ns = netns::open(&req.netns)?;
    netns::enter(&ns, &req.netns)?;
    let mut nl = Rtnl::open()?;
    let l = find_link(&mut nl, req)?;
    // As the reference: a link that is down is brought up, or no answer could reach it.
    if !l.info.up {
        link::set_up(&mut nl, l.info.index, true)?;
    }
    // Unicast (renew, release) needs the leased address on the interface; without it (an IPAM
    // call whose caller never configured it) such a message could only go out as a broadcast.
    let leased: Option<std::net::IpAddr> = req.address.as_deref().and_then(|a| a.parse().ok());
    let has_address = match leased {
        Some(ip) => addr::list(&mut nl, Some(l.info.index))?.iter().any(|a| a.cidr.ip == ip),
        None => false,
    };
    let sock = client_socket(&req.ifname)?;
    let client = Client { sock: &sock, mac: &l.mac_bytes, req, unicast: has_address };
    let lease = match req.exchange {
        DhcpExchange::Acquire => Some(client.acquire()?),
        DhcpExchange::Renew => Some(client.request_lease(if client.unicast { Target::Server } else { Target::Broadcast }, None)?),
        DhcpExchange::Rebind => Some(client.request_lease(Target::Broadcast, None)?),
        DhcpExchange::Release => client.release().map(|_| None)?,
    };
    Ok(DhcpAnswer { lease })
}

/// The interface; an acquire waits for it up to its timeout: an upper plugin may still be making it
/// (our bridge creates the veth while IPAM runs).
fn find_link(nl: &mut Rtnl, req: &DhcpRequest) -> Result<link::Link> {
    let deadline = Instant::now() + Duration::from_millis(u64::from(req.timeout_ms));
    loop {
        if let Some(l) = link::by_name(nl, &req.ifname)? {
            return Ok(l);
        }
        if req.exchange != DhcpExchange::Acquire || Instant::now() >= deadline {
            return Err(Failure::new(FailureKind::NotFound, "dhcp link", format!("interface {} not found in {}", req.ifname, req.netns)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ipv4(field: &str, s: Option<&str>) -> Result<Ipv4Addr> {
    s.and_then(|s| s.parse().ok()).ok_or_else(|| Failure::invalid("dhcp request", format!("{field}: an IPv4 address is required")))
}

/// A UDP socket on port 68 of one interface that may broadcast.
fn client_socket(ifname: &str) -> Result<OwnedFd> {
    // SAFETY: plain syscalls; the descriptor is owned at once.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Failure::last_os("dhcp socket"));
    }
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    for (opt, op) in [(libc::SO_REUSEADDR, "dhcp SO_REUSEADDR"), (libc::SO_BROADCAST, "dhcp SO_BROADCAST")] {
        setsockopt(&sock, opt, &one.to_ne_bytes(), op)?;
    }
    setsockopt(&sock, libc::SO_BINDTODEVICE, ifname.as_bytes(), "dhcp SO_BINDTODEVICE")?;
    let addr = sockaddr(Ipv4Addr::UNSPECIFIED, CLIENT_PORT);
    // SAFETY: addr is a valid sockaddr_in of the given size.
    let rc = unsafe { libc::bind(sock.as_raw_fd(), (&addr as *const libc::sockaddr_in).cast(), size_of::<libc::sockaddr_in>() as u32) };
    if rc != 0 {
        return Err(Failure::last_os("dhcp bind"));
    }
    Ok(sock)
}

fn setsockopt(sock: &OwnedFd, opt: libc::c_int, value: &[u8], op: &str) -> Result<()> {
    // SAFETY: value is a valid buffer of the given length.
    let rc = unsafe { libc::setsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, opt, value.as_ptr().cast(), value.len() as u32) };
    if rc != 0 {
        return Err(Failure::last_os(op));
    }
    Ok(())
}

fn sockaddr(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(ip).to_be() },
        sin_zero: [0; 8],
    }
}

#[derive(Clone, Copy)]
enum Target {
    Server,
    Broadcast,
}

struct Client<'a> {
    sock: &'a OwnedFd,
    mac: &'a [u8],
    req: &'a DhcpRequest,
    /// the leased address is on the interface: the server can be reached by unicast
    unicast: bool,
}

impl Client<'_> {
    fn acquire(&self) -> Result<DhcpLease> {
        let discover = build(self.req, self.mac, MessageType::Discover, Ipv4Addr::UNSPECIFIED);
        let offer = self.exchange(&discover, Ipv4Addr::BROADCAST, &[MessageType::Offer])?;
        let server = server_of(&offer).ok_or_else(|| Failure::invalid("dhcp offer", "the OFFER names no server identifier"))?;
        self.request_lease(Target::Broadcast, Some((offer.yiaddr(), server)))
    }

    /// REQUEST: after an offer (selecting), or with the lease's address as ciaddr (renew, rebind).
    fn request_lease(&self, target: Target, offered: Option<(Ipv4Addr, Ipv4Addr)>) -> Result<DhcpLease> {
        let mut msg;
        let dst = match offered {
            Some((yiaddr, server)) => {
                msg = build(self.req, self.mac, MessageType::Request, Ipv4Addr::UNSPECIFIED);
                msg.opts_mut().insert(DhcpOption::RequestedIpAddress(yiaddr));
                msg.opts_mut().insert(DhcpOption::ServerIdentifier(server));
                Ipv4Addr::BROADCAST
            }
            None => {
                msg = build(self.req, self.mac, MessageType::Request, ipv4("address", self.req.address.as_deref())?);
                match target {
                    Target::Server => ipv4("server", self.req.server.as_deref())?,
                    Target::Broadcast => Ipv4Addr::BROADCAST,
                }
            }
        };
        let ack = self.exchange(&msg, dst, &[MessageType::Ack, MessageType::Nak])?;
        if ack.opts().has_msg_type(MessageType::Nak) {
            let why = match ack.opts().get(OptionCode::Message) {
                Some(DhcpOption::Message(m)) => format!(": {m}"),
                _ => String::new(),
            };
            return Err(Failure::internal("dhcp request", format!("the DHCP server refused the lease (NAK){why}")));
        }
        Ok(lease_of(&ack))
    }

    fn release(&self) -> Result<()> {
        let ciaddr = ipv4("address", self.req.address.as_deref())?;
        let server = ipv4("server", self.req.server.as_deref())?;
        let mut msg = build(self.req, self.mac, MessageType::Release, ciaddr);
        msg.set_flags(Flags::default());
        msg.opts_mut().remove(OptionCode::ParameterRequestList);
        msg.opts_mut().insert(DhcpOption::ServerIdentifier(server));
        let bytes = encode(&msg)?;
        // Unicast as RFC 2131 says; broadcast when the address is not (or no longer) on the
        // interface, which a server on the link still hears.
        let dst = if self.unicast { server } else { Ipv4Addr::BROADCAST };
        self.send(&bytes, dst).or_else(|_| self.send(&bytes, Ipv4Addr::BROADCAST))
    }

    /// Send `msg` to `dst` until an answer of one of `kinds` with its xid arrives.
    fn exchange(&self, msg: &Message, dst: Ipv4Addr, kinds: &[MessageType]) -> Result<Message> {
        let bytes = encode(msg)?;
        let deadline = Instant::now() + Duration::from_millis(u64::from(self.req.timeout_ms.max(1)));
        let resend = Duration::from_millis(u64::from(self.req.resend_ms.max(100)));
        loop {
            self.send(&bytes, dst)?;
            let next = (Instant::now() + resend).min(deadline);
            while let Some(answer) = self.receive(next)? {
                let wanted = answer.xid() == msg.xid()
                    && answer.opcode() == v4::Opcode::BootReply
                    && answer.chaddr().get(..self.mac.len()) == Some(self.mac)
                    && kinds.iter().any(|k| answer.opts().has_msg_type(*k));
                if wanted {
                    return Ok(answer);
                }
            }
            if Instant::now() >= deadline {
                let what = format!("{:?}", msg.opts().msg_type().unwrap_or(MessageType::Unknown(0))).to_uppercase();
                return Err(Failure::new(
                    FailureKind::Timeout,
                    "dhcp exchange",
                    format!("no DHCP answer to {what} on {} within {} ms", self.req.ifname, self.req.timeout_ms),
                ));
            }
        }
    }

    fn send(&self, bytes: &[u8], dst: Ipv4Addr) -> Result<()> {
        let addr = sockaddr(dst, SERVER_PORT);
        // SAFETY: valid buffer and sockaddr_in.
        let rc = unsafe {
            libc::sendto(
                self.sock.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                (&addr as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as u32,
            )
        };
        if rc < 0 {
            let f = Failure::last_os("dhcp send");
            let msg = format!("send to {dst} on {}: {}", self.req.ifname, f.message);
            return Err(f.with_message(msg));
        }
        Ok(())
    }

    /// The next DHCP message before `until`; None when the time is up. Undecodable datagrams are skipped.
    fn receive(&self, until: Instant) -> Result<Option<Message>> {
        let mut buf = [0u8; 1500];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut pfd = libc::pollfd { fd: self.sock.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().clamp(1, i32::MAX as u128) as i32) };
            if n < 0 {
                let f = Failure::last_os("dhcp poll");
                if f.errno == libc::EINTR {
                    continue;
                }
                return Err(f);
            }
            if n == 0 {
                return Ok(None);
            }
            // SAFETY: valid buffer.
            let got = unsafe { libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            if got < 0 {
                continue;
            }
            if let Ok(m) = Message::from_bytes(&buf[..got as usize]) {
                return Ok(Some(m));
            }
        }
    }
}

/// A client message: chaddr, xid, client identifier, the broadcast flag (answers must reach an
/// interface without an address), and but for release the parameter request list and the options
/// the config provides.
fn build(req: &DhcpRequest, mac: &[u8], kind: MessageType, ciaddr: Ipv4Addr) -> Message {
    let mut msg = Message::new(ciaddr, Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, &mac[..mac.len().min(16)]);
    msg.set_flags(Flags::default().set_broadcast());
    let opts = msg.opts_mut();
    opts.insert(DhcpOption::MessageType(kind));
    // Type 0 then the text, as the reference (RFC 2132 §9.14: not a hardware address).
    let mut id = vec![0u8];
    id.extend_from_slice(req.client_id.as_bytes());
    opts.insert(DhcpOption::ClientIdentifier(id));
    if kind != MessageType::Release {
        for p in &req.provide {
            opts.insert(DhcpOption::Unknown(UnknownOption::new(OptionCode::from(p.code), p.value.clone())));
        }
        if !req.request.is_empty() {
            opts.insert(DhcpOption::ParameterRequestList(req.request.iter().map(|c| OptionCode::from(*c)).collect()));
        }
    }
    msg
}

fn encode(msg: &Message) -> Result<Vec<u8>> {
    msg.to_vec().map_err(|e| Failure::internal("dhcp encode", e.to_string()))
}

fn server_of(m: &Message) -> Option<Ipv4Addr> {
    match m.opts().get(OptionCode::ServerIdentifier) {
        Some(DhcpOption::ServerIdentifier(s)) => Some(*s),
        _ => (!m.siaddr().is_unspecified()).then(|| m.siaddr()),
    }
}

/// The lease an ACK grants, its options decoded.
pub fn lease_of(ack: &Message) -> DhcpLease {
    let opts = ack.opts();
    let mut lease = DhcpLease {
        address: ack.yiaddr().to_string(),
        server: server_of(ack).unwrap_or(Ipv4Addr::UNSPECIFIED).to_string(),
        ..DhcpLease::default()
    };
    for (_, opt) in opts.iter() {
        match opt {
            DhcpOption::SubnetMask(m) => lease.prefix_len = Some(u32::from(*m).leading_ones()),
            DhcpOption::Router(r) => lease.router = r.first().map(|r| r.to_string()),
            DhcpOption::AddressLeaseTime(t) => lease.lease_secs = *t,
            DhcpOption::Renewal(t) => lease.renew_secs = Some(*t),
            DhcpOption::Rebinding(t) => lease.rebind_secs = Some(*t),
            DhcpOption::DomainNameServer(s) => lease.dns_servers = s.iter().map(|s| s.to_string()).collect(),
            DhcpOption::DomainName(d) => lease.domain_name = Some(d.clone()),
            DhcpOption::ClasslessStaticRoute(routes) => {
                lease.classless_routes = routes
                    .iter()
                    .map(|(net, gw)| DhcpRoute {
                        dst: format!("{}/{}", net.network(), net.prefix_len()),
                        gw: (!gw.is_unspecified()).then(|| gw.to_string()),
                    })
                    .collect()
            }
            DhcpOption::StaticRoutingTable(pairs) => {
                lease.static_routes = pairs.iter().map(|(dst, gw)| DhcpRoute { dst: classful(*dst), gw: Some(gw.to_string()) }).collect()
            }
            _ => {}
        }
    }
    lease
}

/// Option 33's destination with its classful mask, as Go's net.IP.DefaultMask gives it.
fn classful(dst: Ipv4Addr) -> String {
    let first = dst.octets()[0];
    let prefix = if first < 128 {
        8
    } else if first < 192 {
        16
    } else {
        24
    };
    format!("{dst}/{prefix}")
}

#[cfg(test)]
#[path = "dhcp_tests.rs"]
mod tests;
