//! Attaching and detaching interfaces while a capture runs (root; skips loudly otherwise),
//! including an interface deleted and made again under the same name.

mod common;

use common::root_or_skip;

use flowsight_capture::{Capture, CaptureConfig};
use std::process::Command;

fn ip(args: &str) {
    let ok = Command::new("ip")
        .args(args.split(' '))
        .status()
        .unwrap()
        .success();
    assert!(ok, "ip {args}");
}

/// A veth pair (`name` and `name`p; this kernel has no dummy module) removed when dropped,
/// whatever the test did.
struct Dummy(String);

impl Dummy {
    fn new(name: &str) -> Dummy {
        let _ = Command::new("ip").args(["link", "del", name]).status();
        ip(&format!("link add {name} type veth peer name {name}p"));
        ip(&format!("link set {name} up"));
        ip(&format!("link set {name}p up"));
        Dummy(name.to_string())
    }
}

impl Drop for Dummy {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).status();
    }
}

#[test]
fn an_interface_made_again_under_its_name_is_attached_and_detached_anew() {
    if !root_or_skip("an_interface_made_again_under_its_name_is_attached_and_detached_anew") {
        return;
    }
    let name = format!("fsat{}", std::process::id() % 100_000);
    let mut capture = Capture::start(&CaptureConfig {
        interfaces: vec!["lo".into()],
        ..CaptureConfig::default()
    })
    .expect("starting the capture");
    let first = Dummy::new(&name);
    let a = capture.attach_interface(&name).unwrap();
    assert!(capture.interfaces().iter().any(|i| i.index == a.index));
    // Deleted and made again: a new index under the same name.
    drop(first);
    let _again = Dummy::new(&name);
    let b = capture.attach_interface(&name).unwrap();
    assert_ne!(a.index, b.index);
    let same_name: Vec<u32> = capture
        .interfaces()
        .iter()
        .filter(|i| i.name == name)
        .map(|i| i.index)
        .collect();
    assert_eq!(same_name, vec![b.index], "the gone interface is forgotten");
    // A detach by name takes the new one's links.
    assert!(capture.detach_interface(&name).unwrap());
    assert!(!capture.interfaces().iter().any(|i| i.name == name));
    assert!(
        !capture.detach_interface(&name).unwrap(),
        "nothing left to detach"
    );
}
