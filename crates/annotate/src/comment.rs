//! A packet's annotation as pcapng options: a comment for people, custom options for programs.

use crate::PacketOwner;
use flowsight_pcapfile::EpbOption;
use std::fmt::Write;

/// Longest text kept of one value (the command line, mostly): pcapng options hold at most
/// 65,535 bytes, and a comment that long helps nobody. Every value is capped, the ones read
/// from a record log too, so no owner can make an option the writer must refuse.
pub const MAX_OPTION_TEXT: usize = 1024;

/// What flowsight says about one packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Annotation<'a> {
    /// The owner of the packet's local endpoint, when known.
    pub owner: Option<&'a PacketOwner>,
    /// The packet's flow, when it is an IP flow.
    pub community_id: Option<&'a str>,
}

/// `s` cut to at most [`MAX_OPTION_TEXT`] bytes, at a character boundary.
fn capped(s: &str) -> &str {
    if s.len() <= MAX_OPTION_TEXT {
        return s;
    }
    let mut end = MAX_OPTION_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Annotation<'_> {
    /// The packet comment (`opt_comment`), in the `Key: value` lines ptcpdump writes:
    /// `PID`, `Cmd` (the executable, or the name when it is not known), `Args`, `User`,
    /// `Container`, then `CommunityID`. Empty when there is nothing to say.
    pub fn comment(&self) -> String {
        let mut c = String::new();
        if let Some(o) = self.owner {
            let _ = writeln!(c, "PID: {}", o.pid);
            let cmd = o.executable.as_deref().unwrap_or(&o.name);
            let _ = writeln!(c, "Cmd: {}", capped(cmd));
            if !o.args.is_empty() {
                let _ = writeln!(c, "Args: {}", capped(&o.args.join(" ")));
            }
            match &o.user {
                Some(name) => {
                    let _ = writeln!(c, "User: {} ({})", capped(name), capped(&o.uid));
                }
                None => {
                    let _ = writeln!(c, "User: {}", capped(&o.uid));
                }
            }
            if let Some(ct) = &o.container {
                let _ = writeln!(c, "Container: {} ({})", capped(&ct.id), capped(&ct.runtime));
            }
        }
        if let Some(id) = self.community_id {
            let _ = writeln!(c, "CommunityID: {}", capped(id));
        }
        if c.ends_with('\n') {
            c.pop();
        }
        c
    }

    /// The custom options' `key=value` pairs: `pid`, `process.name`, `process.executable`,
    /// `process.args` (space-separated), `user.id`, `user.name`, `container.id`,
    /// `container.runtime`, `network.community_id` (the record log's field names), each only
    /// when known.
    pub fn key_values(&self) -> Vec<(&'static str, String)> {
        let mut kv = Vec::new();
        if let Some(o) = self.owner {
            kv.push(("process.pid", o.pid.to_string()));
            kv.push(("process.name", capped(&o.name).to_string()));
            if let Some(e) = &o.executable {
                kv.push(("process.executable", capped(e).to_string()));
            }
            if !o.args.is_empty() {
                kv.push(("process.args", capped(&o.args.join(" ")).to_string()));
            }
            kv.push(("user.id", capped(&o.uid).to_string()));
            if let Some(u) = &o.user {
                kv.push(("user.name", capped(u).to_string()));
            }
            if let Some(ct) = &o.container {
                kv.push(("container.id", capped(&ct.id).to_string()));
                kv.push(("container.runtime", capped(&ct.runtime).to_string()));
            }
        }
        if let Some(id) = self.community_id {
            kv.push(("network.community_id", capped(id).to_string()));
        }
        kv
    }
}

/// The enhanced packet block options for `comment` and `key_values` (as
/// [`Annotation::comment`] and [`Annotation::key_values`] made them), after `extra` (such as
/// `epb_flags`). An empty comment is left out.
pub fn epb_options<'a>(
    comment: &'a str,
    key_values: &'a [(&'static str, String)],
    extra: &[EpbOption<'a>],
) -> Vec<EpbOption<'a>> {
    let mut out = Vec::with_capacity(extra.len() + 1 + key_values.len());
    out.extend_from_slice(extra);
    if !comment.is_empty() {
        out.push(EpbOption::Comment(comment));
    }
    out.extend(
        key_values
            .iter()
            .map(|(key, value)| EpbOption::KeyValue { key, value }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContainerRef;

    fn curl() -> PacketOwner {
        PacketOwner {
            pid: 1234,
            name: "curl".into(),
            executable: Some("/usr/bin/curl".into()),
            args: vec!["curl".into(), "-s".into(), "http://10.0.0.2/".into()],
            uid: "1000".into(),
            user: Some("alice".into()),
            container: Some(ContainerRef {
                id: "0123abcd".into(),
                runtime: "docker".into(),
                name: None,
                pod_uid: None,
            }),
            netns: None,
        }
    }

    #[test]
    fn comment_reads_like_ptcpdumps() {
        let o = curl();
        let a = Annotation {
            owner: Some(&o),
            community_id: Some("1:abc="),
        };
        assert_eq!(
            a.comment(),
            "PID: 1234\nCmd: /usr/bin/curl\nArgs: curl -s http://10.0.0.2/\nUser: alice (1000)\n\
             Container: 0123abcd (docker)\nCommunityID: 1:abc="
        );
        let kv = a.key_values();
        assert_eq!(kv[0], ("process.pid", "1234".to_string()));
        assert!(kv.contains(&("container.id", "0123abcd".to_string())));
        assert_eq!(kv.last().unwrap().0, "network.community_id");
    }

    #[test]
    fn without_owner_only_the_flow_and_nothing_without_either() {
        let a = Annotation {
            owner: None,
            community_id: Some("1:x"),
        };
        assert_eq!(a.comment(), "CommunityID: 1:x");
        assert_eq!(Annotation::default().comment(), "");
        assert!(Annotation::default().key_values().is_empty());
        let c = String::new();
        assert!(epb_options(&c, &[], &[]).is_empty());
    }

    #[test]
    fn long_values_are_capped_at_a_character_boundary() {
        let mut o = curl();
        o.args = vec!["é".repeat(MAX_OPTION_TEXT)];
        let a = Annotation {
            owner: Some(&o),
            community_id: None,
        };
        let args = a
            .key_values()
            .into_iter()
            .find(|(k, _)| *k == "process.args")
            .unwrap()
            .1;
        assert!(args.len() <= MAX_OPTION_TEXT && args.chars().all(|c| c == 'é'));
    }

    #[test]
    fn no_owner_field_makes_an_option_the_writer_refuses() {
        // A record log can say anything: 70,000-byte names, ids and paths.
        let huge = "x".repeat(70_000);
        let o = PacketOwner {
            pid: 1,
            name: huge.clone(),
            executable: Some(huge.clone()),
            args: vec![huge.clone()],
            uid: huge.clone(),
            user: Some(huge.clone()),
            container: Some(ContainerRef {
                id: huge.clone(),
                runtime: huge.clone(),
                name: Some(huge.clone()),
                pod_uid: Some(huge.clone()),
            }),
            netns: Some(u64::MAX),
        };
        let a = Annotation {
            owner: Some(&o),
            community_id: Some(&huge),
        };
        let comment = a.comment();
        let kv = a.key_values();
        let opts = epb_options(&comment, &kv, &[]);
        let mut w = flowsight_pcapfile::PcapngWriter::new(Vec::new()).unwrap();
        w.add_interface(&flowsight_pcapfile::InterfaceSpec {
            link: flowsight_pcapfile::LinkType::ETHERNET,
            snaplen: 0,
            name: None,
            description: None,
        })
        .unwrap();
        w.write_packet(&flowsight_pcapfile::EnhancedPacket {
            interface: 0,
            ts_ns: 1,
            orig_len: 1,
            data: &[0],
            options: &opts,
        })
        .expect("every option fits");
    }
}
