use super::*;

fn request(exchange: DhcpExchange) -> DhcpRequest {
    DhcpRequest {
        netns: "/var/run/netns/x".into(),
        ifname: "eth0".into(),
        exchange,
        client_id: "c1/net/eth0".into(),
        address: Some("10.9.0.50".into()),
        server: Some("10.9.0.1".into()),
        request: vec![1, 3, 121],
        provide: vec![DhcpOptionValue { code: 12, value: b"pod-a".to_vec() }],
        timeout_ms: 1000,
        resend_ms: 500,
    }
}

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x42];

fn decoded(m: &Message) -> Message {
    Message::from_bytes(&encode(m).unwrap()).unwrap()
}

#[test]
fn discover_carries_client_id_flags_and_options() {
    let m = decoded(&build(&request(DhcpExchange::Acquire), &MAC, MessageType::Discover, Ipv4Addr::UNSPECIFIED));
    assert!(m.opts().has_msg_type(MessageType::Discover));
    assert!(m.flags().broadcast(), "answers must be broadcast: the interface has no address yet");
    assert_eq!(m.chaddr(), &MAC);
    let Some(DhcpOption::ClientIdentifier(id)) = m.opts().get(OptionCode::ClientIdentifier) else { panic!("no client id") };
    assert_eq!(id, &[&[0u8][..], b"c1/net/eth0"].concat());
    let Some(DhcpOption::ParameterRequestList(list)) = m.opts().get(OptionCode::ParameterRequestList) else { panic!("no request list") };
    assert_eq!(list, &vec![OptionCode::SubnetMask, OptionCode::Router, OptionCode::ClasslessStaticRoute]);
    let Some(DhcpOption::Hostname(h)) = m.opts().get(OptionCode::Hostname) else { panic!("no host name: {:?}", m.opts()) };
    assert_eq!(h, "pod-a");
}

#[test]
fn release_has_no_requests_nor_provided_options() {
    let m = decoded(&build(&request(DhcpExchange::Release), &MAC, MessageType::Release, "10.9.0.50".parse().unwrap()));
    assert_eq!(m.ciaddr(), "10.9.0.50".parse::<Ipv4Addr>().unwrap());
    assert!(m.opts().get(OptionCode::ParameterRequestList).is_none());
    assert!(m.opts().get(OptionCode::Hostname).is_none());
    assert!(m.opts().get(OptionCode::ClientIdentifier).is_some());
}

fn ack(opts: Vec<DhcpOption>) -> Message {
    let mut m = Message::new(Ipv4Addr::UNSPECIFIED, "10.9.0.50".parse().unwrap(), Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, &MAC);
    m.set_opcode(v4::Opcode::BootReply);
    m.opts_mut().insert(DhcpOption::MessageType(MessageType::Ack));
    for o in opts {
        m.opts_mut().insert(o);
    }
    decoded(&m)
}

#[test]
fn lease_reads_mask_router_times_and_server() {
    let l = lease_of(&ack(vec![
        DhcpOption::SubnetMask("255.255.255.0".parse().unwrap()),
        DhcpOption::Router(vec!["10.9.0.1".parse().unwrap(), "10.9.0.2".parse().unwrap()]),
        DhcpOption::ServerIdentifier("10.9.0.3".parse().unwrap()),
        DhcpOption::AddressLeaseTime(120),
        DhcpOption::Renewal(10),
        DhcpOption::Rebinding(20),
        DhcpOption::DomainNameServer(vec!["10.9.0.4".parse().unwrap()]),
    ]));
    assert_eq!(l.address, "10.9.0.50");
    assert_eq!(l.prefix_len, Some(24));
    assert_eq!(l.router.as_deref(), Some("10.9.0.1"));
    assert_eq!(l.server, "10.9.0.3");
    assert_eq!((l.lease_secs, l.renew_secs, l.rebind_secs), (120, Some(10), Some(20)));
    assert_eq!(l.dns_servers, vec!["10.9.0.4".to_string()]);
    assert!(l.classless_routes.is_empty() && l.static_routes.is_empty());
}

#[test]
fn classless_routes_with_router_zero_are_on_link() {
    let routes =
        vec![("10.0.0.0/8".parse().unwrap(), "10.9.0.1".parse().unwrap()), ("192.168.7.0/24".parse().unwrap(), Ipv4Addr::UNSPECIFIED)];
    let l = lease_of(&ack(vec![DhcpOption::ClasslessStaticRoute(routes)]));
    assert_eq!(
        l.classless_routes,
        vec![DhcpRoute { dst: "10.0.0.0/8".into(), gw: Some("10.9.0.1".into()) }, DhcpRoute { dst: "192.168.7.0/24".into(), gw: None }]
    );
}

#[test]
fn static_routes_get_classful_masks() {
    let pairs = vec![
        ("10.1.0.0".parse().unwrap(), "10.9.0.1".parse().unwrap()),
        ("172.16.0.0".parse().unwrap(), "10.9.0.1".parse().unwrap()),
        ("192.168.3.0".parse().unwrap(), "10.9.0.1".parse().unwrap()),
    ];
    let l = lease_of(&ack(vec![DhcpOption::StaticRoutingTable(pairs)]));
    let dsts: Vec<_> = l.static_routes.iter().map(|r| r.dst.as_str()).collect();
    assert_eq!(dsts, ["10.1.0.0/8", "172.16.0.0/16", "192.168.3.0/24"]);
}

#[test]
fn missing_namespace_is_netns_gone() {
    let mut r = request(DhcpExchange::Acquire);
    r.netns = "/nonexistent/netns".into();
    let e = netns::on_thread(|| dhcp_exchange_here(&r)).unwrap_err();
    assert_eq!(e.kind, FailureKind::NetnsGone);
}
