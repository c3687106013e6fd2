//! Errors as one line: the error and its causes, `a: b: c`.

/// `e` and its causes, joined by `: ` as anyhow's `{:#}` joins them, but without a cause
/// whose text the line already ends with: many libraries' errors (io, netlink, the BPF
/// loader's) repeat their source in their own message, and it would appear twice.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !part.is_empty() && !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    /// An error whose message repeats its source, as many do.
    #[derive(Debug)]
    struct Repeats {
        path: String,
        source: std::io::Error,
    }

    impl std::fmt::Display for Repeats {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "cannot enter network namespace {}: {}",
                self.path, self.source
            )
        }
    }

    impl std::error::Error for Repeats {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn each_cause_is_written_once() {
        let e = flowsight_pcapfile::ReadError::Io {
            offset: 4096,
            source: std::io::Error::other("corrupt deflate stream"),
        };
        assert_eq!(chain(&e), "read error at byte 4096: corrupt deflate stream");
        let inner = Repeats {
            path: "/run/netns/x".into(),
            source: std::io::Error::other("No such file or directory"),
        };
        let e = Err::<(), _>(inner).context("starting").unwrap_err();
        assert_eq!(
            chain(e.as_ref()),
            "starting: cannot enter network namespace /run/netns/x: No such file or directory"
        );
    }
}
