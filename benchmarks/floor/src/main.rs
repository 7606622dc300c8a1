//! Benchmark helper that lives inside the node namespace (started once under `ip netns exec`).
//! JSON lines on stdin/stdout. `exec` spawns a plugin binary like a runtime does and times it;
//! `add`/`del` are the kernel floor: the same kernel work our bridge plugin (and the reference)
//! does per pod, over raw netlink from one resident process: veth into the pod with master + up,
//! accept_ra=0 on the host end, accept_dad=0 and arp_notify=1 on the pod end, address, link up,
//! default route, one nft set element; DEL deletes the veth and the element. arp_notify matters:
//! with it, link up sends a gratuitous ARP that the bridge floods to every pod (O(N) per ADD).
use serde_json::{json, Value};
use std::ffi::CString;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

const NETLINK_ROUTE: i32 = 0;
const NETLINK_NETFILTER: i32 = 12;
const F_REQ: u16 = 1;
const F_ACK: u16 = 4;
const F_EXCL: u16 = 0x200;
const F_CREATE: u16 = 0x400;
const NESTED: u16 = 0x8000;

/// One netlink message under construction (nlmsghdr, fixed header, attributes, nests).
struct Msg {
    b: Vec<u8>,
    nests: Vec<usize>,
}
impl Msg {
    fn new(ty: u16, flags: u16, hdr: &[u8]) -> Msg {
        let mut b = vec![0u8; 16];
        b[4..6].copy_from_slice(&ty.to_ne_bytes());
        b[6..8].copy_from_slice(&(flags | F_REQ).to_ne_bytes());
        b.extend_from_slice(hdr);
        Msg { b, nests: vec![] }
    }
    fn pad(&mut self) {
        while !self.b.len().is_multiple_of(4) {
            self.b.push(0)
        }
    }
    fn attr(mut self, ty: u16, data: &[u8]) -> Msg {
        self.b.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.b.extend_from_slice(&ty.to_ne_bytes());
        self.b.extend_from_slice(data);
        self.pad();
        self
    }
    fn str(self, ty: u16, s: &str) -> Msg {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.attr(ty, &d)
    }
    fn begin(mut self, ty: u16) -> Msg {
        self.nests.push(self.b.len());
        self.b.extend_from_slice(&[0, 0]);
        self.b.extend_from_slice(&(ty | NESTED).to_ne_bytes());
        self
    }
    fn raw(mut self, d: &[u8]) -> Msg {
        self.b.extend_from_slice(d);
        self
    }
    fn end(mut self) -> Msg {
        let s = self.nests.pop().unwrap();
        let l = (self.b.len() - s) as u16;
        self.b[s..s + 2].copy_from_slice(&l.to_ne_bytes());
        self
    }
    fn done(mut self, seq: u32) -> Vec<u8> {
        let l = self.b.len() as u32;
        self.b[0..4].copy_from_slice(&l.to_ne_bytes());
        self.b[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.b
    }
}

fn check(r: i32, what: &str) -> Result<i32, String> {
    if r < 0 {
        Err(format!("{what}: {}", std::io::Error::last_os_error()))
    } else {
        Ok(r)
    }
}

/// Send messages in one write and wait for `acks` acknowledgements.
fn talk(fd: i32, msgs: &[Vec<u8>], acks: usize) -> Result<(), String> {
    let buf: Vec<u8> = msgs.concat();
    check(unsafe { libc::send(fd, buf.as_ptr() as _, buf.len(), 0) } as i32, "send")?;
    let mut got = 0;
    let mut rb = vec![0u8; 65536];
    while got < acks {
        let n = check(unsafe { libc::recv(fd, rb.as_mut_ptr() as _, rb.len(), 0) } as i32, "recv")? as usize;
        let mut o = 0;
        while o + 16 <= n {
            let len = u32::from_ne_bytes(rb[o..o + 4].try_into().unwrap()) as usize;
            if u16::from_ne_bytes(rb[o + 4..o + 6].try_into().unwrap()) == 2 {
                let err = i32::from_ne_bytes(rb[o + 16..o + 20].try_into().unwrap());
                if err != 0 {
                    return Err(format!("netlink: {}", std::io::Error::from_raw_os_error(-err)));
                }
                got += 1;
            }
            o += (len + 3) & !3;
        }
    }
    Ok(())
}

fn sock(proto: i32) -> Result<i32, String> {
    check(unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) }, "socket")
}
fn open(p: &str) -> Result<i32, String> {
    let c = CString::new(p).unwrap();
    check(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }, p)
}
fn setns(fd: i32) -> Result<(), String> {
    check(unsafe { libc::setns(fd, libc::CLONE_NEWNET) }, "setns").map(|_| ())
}
/// Write "0" to a sysctl file (relative to `dir`, or absolute with AT_FDCWD).
fn sysctl(dir: i32, path: &str) -> Result<(), String> {
    let c = CString::new(path).unwrap();
    let fd = check(unsafe { libc::openat(dir, c.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) }, path)?;
    let w = unsafe { libc::write(fd, b"0".as_ptr() as _, 1) };
    unsafe { libc::close(fd) };
    check(w as i32, path).map(|_| ())
}
fn index(name: &str) -> Result<u32, String> {
    let c = CString::new(name).unwrap();
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(format!("no link {name}")),
        i => Ok(i),
    }
}
fn ifinfo(index: u32, up: bool) -> Vec<u8> {
    let mut h = vec![0u8; 16];
    h[4..8].copy_from_slice(&(index as i32).to_ne_bytes());
    if up {
        h[8..12].copy_from_slice(&1u32.to_ne_bytes());
        h[12..16].copy_from_slice(&1u32.to_ne_bytes());
    }
    h
}
fn v4(s: &str) -> [u8; 4] {
    s.parse::<std::net::Ipv4Addr>().unwrap().octets()
}
fn s<'a>(r: &'a Value, k: &str) -> &'a str {
    r[k].as_str().unwrap_or("")
}

/// One nf_tables batch holding one set-element message.
fn nft_elem(nft: i32, r: &Value, add: bool, seq: u32) -> Result<(), String> {
    let nfgen = |fam: u8, res: u16| {
        let mut h = vec![fam, 0];
        h.extend_from_slice(&res.to_be_bytes());
        h
    };
    let addr = v4(s(r, "addr").split('/').next().unwrap());
    let (ty, fl) = if add { (12, F_ACK | F_CREATE) } else { (14, F_ACK) };
    let mut e = Msg::new((10 << 8) | ty, fl, &nfgen(1, 0))
        .str(1, s(r, "table"))
        .str(2, s(r, "set"))
        .begin(3)
        .begin(1)
        .begin(1)
        .attr(1, &addr)
        .end();
    if add {
        e = e.attr(6, s(r, "comment").as_bytes());
    }
    let msgs = [Msg::new(0x10, 0, &nfgen(0, 10)).done(seq), e.end().end().done(seq + 1), Msg::new(0x11, 0, &nfgen(0, 10)).done(seq + 2)];
    talk(nft, &msgs, 1)
}

fn floor_add(host: i32, nft: i32, node: i32, v6conf: i32, r: &Value, seq: u32) -> Result<(), String> {
    let pod = open(s(r, "netns"))?;
    let ifname = s(r, "ifname");
    let peer = Msg::new(0, 0, &[]).raw(&ifinfo(0, false)).str(3, ifname).attr(28, &pod.to_ne_bytes()).b[16..].to_vec();
    let veth = Msg::new(16, F_ACK | F_CREATE | F_EXCL, &ifinfo(0, true))
        .str(3, s(r, "host"))
        .attr(10, &index(s(r, "bridge"))?.to_ne_bytes())
        .begin(18)
        .str(1, "veth")
        .begin(2)
        .begin(1)
        .raw(&peer)
        .end()
        .end()
        .end();
    talk(host, &[veth.done(seq)], 1)?;
    sysctl(v6conf, &format!("{}/accept_ra", s(r, "host")))?;
    setns(pod)?;
    let res = (|| {
        sysctl(libc::AT_FDCWD, &format!("/proc/sys/net/ipv6/conf/{ifname}/accept_dad"))?;
        let rt = sock(NETLINK_ROUTE)?;
        let (a, plen) = s(r, "addr").split_once('/').unwrap();
        let idx = index(ifname)?;
        let mut ifa = vec![2u8, plen.parse().unwrap(), 0, 0];
        ifa.extend_from_slice(&idx.to_ne_bytes());
        // IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF / IPV4_DEVCONF_ARP_NOTIFY = 1
        let notify = Msg::new(16, F_ACK, &ifinfo(idx, false)).begin(26).begin(2).begin(1).attr(22, &1u32.to_ne_bytes()).end().end().end();
        let addr = Msg::new(20, F_ACK | F_CREATE | F_EXCL, &ifa).attr(2, &v4(a)).attr(1, &v4(a));
        let up = Msg::new(16, F_ACK, &ifinfo(idx, true));
        let route = Msg::new(24, F_ACK | F_CREATE | F_EXCL, &[2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0])
            .attr(5, &v4(s(r, "gw")))
            .attr(4, &idx.to_ne_bytes());
        let out = talk(rt, &[notify.done(seq), addr.done(seq + 1), up.done(seq + 2), route.done(seq + 3)], 4);
        unsafe { libc::close(rt) };
        out
    })();
    setns(node)?;
    unsafe { libc::close(pod) };
    res?;
    nft_elem(nft, r, true, seq)
}

fn floor_del(nft: i32, node: i32, r: &Value, seq: u32) -> Result<(), String> {
    let pod = open(s(r, "netns"))?;
    setns(pod)?;
    let res = (|| {
        let rt = sock(NETLINK_ROUTE)?;
        let out = talk(rt, &[Msg::new(17, F_ACK, &ifinfo(index(s(r, "ifname"))?, false)).done(seq)], 1);
        unsafe { libc::close(rt) };
        out
    })();
    setns(node)?;
    unsafe { libc::close(pod) };
    res?;
    nft_elem(nft, r, false, seq)
}

fn exec(r: &Value) -> Value {
    let mut cmd = Command::new(s(r, "path"));
    cmd.env_clear().stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(env) = r["env"].as_object() {
        for (k, v) in env {
            cmd.env(k, v.as_str().unwrap_or(""));
        }
    }
    let t = Instant::now();
    let out = cmd.spawn().and_then(|mut c| {
        c.stdin.take().unwrap().write_all(s(r, "stdin").as_bytes())?;
        c.wait_with_output()
    });
    let us = t.elapsed().as_micros() as u64;
    match out {
        Ok(o) => {
            json!({"code": o.status.code().unwrap_or(-1), "stdout": String::from_utf8_lossy(&o.stdout), "stderr": String::from_utf8_lossy(&o.stderr), "us": us})
        }
        Err(e) => json!({"code": -1, "stdout": "", "stderr": e.to_string(), "us": us}),
    }
}

fn main() {
    let node = open("/proc/self/ns/net").expect("own netns");
    let host = sock(NETLINK_ROUTE).expect("rtnetlink");
    let nft = sock(NETLINK_NETFILTER).expect("nfnetlink");
    // the node namespace's conf directory, opened once: a full-path open walks every namespace's
    // /proc/sys/net entry (fastcni caches the same directory)
    let v6conf = open("/proc/sys/net/ipv6/conf").expect("ipv6 conf");
    let mut seq = 1u32;
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let r: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let _ = writeln!(out, "{}", json!({"error": e.to_string()}));
                continue;
            }
        };
        seq = seq.wrapping_add(8);
        let t = Instant::now();
        let reply = match s(&r, "op") {
            "exec" => exec(&r),
            op @ ("add" | "del") => {
                let res = if op == "add" { floor_add(host, nft, node, v6conf, &r, seq) } else { floor_del(nft, node, &r, seq) };
                let us = t.elapsed().as_micros() as u64;
                match res {
                    Ok(()) => json!({"code": 0, "us": us}),
                    Err(e) => json!({"code": 1, "stderr": e, "us": us}),
                }
            }
            _ => json!({"code": -1, "stderr": "unknown op"}),
        };
        let _ = writeln!(out, "{reply}");
        let _ = out.flush();
    }
}
