//! `.fastcni.json` beside the launcher: {"node": "...", "entry": "...", "socket": "..."} — a flat
//! object of strings, read with a parser just big enough for it (std only, no serde).

/// Where Node and the plugin entry are, and the agent socket.
#[derive(Debug, Default, PartialEq)]
pub struct Config {
    pub node: Option<String>,
    pub entry: Option<String>,
    pub socket: Option<String>,
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            self.i += 4;
                            let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => return None,
                    }
                }
                _ => out.push(c),
            }
        }
    }
}

impl Config {
    /// `entry`, and `node` when it names a path rather than a command to find in PATH, taken
    /// relative to `dir` unless absolute.
    pub fn relative_to(self, dir: &std::path::Path) -> Config {
        let under = |p: String| if p.starts_with('/') { p } else { dir.join(p).to_string_lossy().into_owned() };
        Config { node: self.node.map(|n| if n.contains('/') { under(n) } else { n }), entry: self.entry.map(under), socket: self.socket }
    }
}

/// Parse the file's text; None when it is not a flat object of strings.
pub fn parse(text: &[u8]) -> Option<Config> {
    let mut p = P { s: text, i: 0 };
    let mut cfg = Config::default();
    p.eat(b'{')?;
    if p.eat(b'}').is_some() {
        return Some(cfg);
    }
    loop {
        let key = p.string()?;
        p.eat(b':')?;
        let value = p.string()?;
        match key.as_str() {
            "node" => cfg.node = Some(value),
            "entry" => cfg.entry = Some(value),
            "socket" => cfg.socket = Some(value),
            _ => {}
        }
        if p.eat(b',').is_some() {
            continue;
        }
        p.eat(b'}')?;
        return Some(cfg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_keys() {
        let c = parse(br#"{ "node": "/usr/bin/node", "entry": "/a \"b\"/e.js", "socket": "/run/x\u00e9", "other": "" }"#).unwrap();
        assert_eq!(c.node.as_deref(), Some("/usr/bin/node"));
        assert_eq!(c.entry.as_deref(), Some("/a \"b\"/e.js"));
        assert_eq!(c.socket.as_deref(), Some("/run/x\u{e9}"));
        assert!(parse(b"{\"node\": 1}").is_none());
        assert_eq!(parse(b" {} "), Some(Config::default()));
    }

    #[test]
    fn relative_paths_are_taken_from_the_launcher_directory() {
        let c = Config { node: Some("node".into()), entry: Some("../entry/e.cjs".into()), socket: None };
        let c = c.relative_to(std::path::Path::new("/pkg/dist/cni"));
        assert_eq!((c.node.as_deref(), c.entry.as_deref()), (Some("node"), Some("/pkg/dist/cni/../entry/e.cjs")));
        let c = Config { node: Some("./bin/node".into()), entry: Some("/abs/e.cjs".into()), socket: None };
        let c = c.relative_to(std::path::Path::new("/d"));
        assert_eq!((c.node.as_deref(), c.entry.as_deref()), (Some("/d/./bin/node"), Some("/abs/e.cjs")));
    }
}
