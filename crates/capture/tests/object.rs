//! `names.rs` and the committed object agree: every program and map it names exists, and
//! the object holds nothing it does not name. No root needed.

use flowsight_capture::{names, object_bytes};
use std::collections::BTreeSet;

#[test]
fn every_name_matches_the_committed_object() {
    let obj = aya_obj::Object::parse(object_bytes()).expect("bpf/flowsight.bpf.o parses");
    let programs: BTreeSet<&str> = obj.programs.keys().map(String::as_str).collect();
    let maps: BTreeSet<&str> = obj.maps.keys().map(String::as_str).collect();
    let named_programs: BTreeSet<&str> = names::PROGRAMS.iter().copied().collect();
    let named_maps: BTreeSet<&str> = names::MAPS.iter().copied().collect();
    assert_eq!(
        programs, named_programs,
        "programs in the object vs names::PROGRAMS"
    );
    // The object also has the .rodata/.bss of nothing and the license; only BTF maps count.
    let maps: BTreeSet<&str> = maps.into_iter().filter(|m| !m.starts_with('.')).collect();
    assert_eq!(maps, named_maps, "maps in the object vs names::MAPS");
}

#[test]
fn the_object_is_stripped_but_keeps_btf() {
    let obj = aya_obj::Object::parse(object_bytes()).unwrap();
    assert!(obj.btf.is_some(), ".BTF is needed for CO-RE and tp_btf");
    assert!(
        obj.btf_ext.is_some(),
        ".BTF.ext carries the CO-RE relocations"
    );
    assert!(object_bytes().len() < 400_000, "debug sections stripped");
}
