//! The capture thread's side of run-time control (the API's side is `serve/control.rs`):
//! attaching and detaching interfaces, and the protocol-analysis settings.
//!
//! The kernel's sampling budget (`--sample-packets`) is a constant of the loaded programs,
//! so settings change what the kernel sends through the sampling stop map instead: with
//! protocol analysis off, or once a flow had the samples the run-time budget allows, the flow
//! is put in the stop map and the kernel sends it no more. The budget can therefore be
//! lowered at run time, never raised above the one the programs were loaded with.

use super::pipeline::Pipeline;
use crate::serve::control::{Command, Refusal, Request, Settings};
use flowsight_capture::{CaptureError, Interface, LinkKind, interfaces};
use flowsight_flow::{FlowKey, Sample};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Flows whose samples are counted at most; past it the counts start over (a flow may then
/// be analyzed a few samples beyond the budget, never fewer).
const COUNTED_FLOWS: usize = 1 << 20;

/// Whether to analyze a payload sample under `settings`, and whether the flow has just had
/// enough (its sampling is to be stopped in the kernel: said once, by the sample that used
/// the last of the budget; samples already on their way after it are not analyzed).
pub fn admit(
    settings: &Settings,
    counts: &mut HashMap<FlowKey, [u32; 2]>,
    sample: &Sample<'_>,
) -> (bool, bool) {
    if !settings.protocols {
        return (false, true);
    }
    let budget = settings.sample_packets;
    if budget >= settings.max_sample_packets {
        return (true, false);
    }
    if counts.len() >= COUNTED_FLOWS && !counts.contains_key(&sample.key) {
        counts.clear();
    }
    let c = counts.entry(sample.key).or_default();
    let side = sample.sender & 1;
    let analyze = c[side] < budget;
    if analyze {
        c[side] += 1;
    }
    (analyze, analyze && c[0] >= budget && c[1] >= budget)
}

fn refusal(status: u16, message: String) -> Refusal {
    Refusal { status, message }
}

/// The HTTP status for a capture error: 404 for an unknown interface, 400 for one that
/// cannot be captured on, 500 for the kernel refusing.
fn status_of(e: &CaptureError) -> u16 {
    match e {
        CaptureError::UnknownInterface(_) => 404,
        CaptureError::UnsupportedInterface { .. } => 400,
        _ => 500,
    }
}

fn link_name(l: LinkKind) -> &'static str {
    match l {
        LinkKind::Ethernet => "ethernet",
        LinkKind::Loopback => "loopback",
        LinkKind::Ip => "ip",
    }
}

fn interface_json(i: &Interface, attached: bool) -> Value {
    json!({
        "name": i.name,
        "index": i.index,
        "link": link_name(i.link),
        "attached": attached,
    })
}

/// Answer one request from the API.
pub fn handle(p: &mut Pipeline, req: Request) {
    let answer = match &req.command {
        Command::Interfaces => list(p),
        Command::SetAttached(name, true) => attach(p, name),
        Command::SetAttached(name, false) => detach(p, name),
        Command::Settings => Ok(p.settings.to_json()),
        Command::SetSettings(body) => set_settings(p, body),
    };
    req.answer(answer);
}

/// The interfaces that are up, and the attached ones (up or not), by index.
fn list(p: &Pipeline) -> Result<Value, Refusal> {
    let attached = p.capture.interfaces();
    let mut all = interfaces::list_up().map_err(|e| refusal(500, e.to_string()))?;
    for a in attached {
        if !all.iter().any(|i| i.index == a.index) {
            all.push(a.clone());
        }
    }
    all.sort_by_key(|i| i.index);
    let list: Vec<Value> = all
        .iter()
        .map(|i| interface_json(i, attached.iter().any(|a| a.index == i.index)))
        .collect();
    Ok(json!({ "interfaces": list }))
}

fn attach(p: &mut Pipeline, name: &str) -> Result<Value, Refusal> {
    let iface = p
        .capture
        .attach_interface(name)
        .map_err(|e| refusal(status_of(&e), e.to_string()))?;
    p.interfaces.insert(
        iface.index,
        flowsight_record::Interface {
            name: iface.name.clone(),
            id: iface.index,
        },
    );
    if let Some(engine) = &mut p.engine {
        engine.set_interface(iface.index, iface.name.clone());
    }
    log::warn!("control: attached to {name} through the API");
    Ok(interface_json(&iface, true))
}

fn detach(p: &mut Pipeline, name: &str) -> Result<Value, Refusal> {
    let iface = p
        .capture
        .interfaces()
        .iter()
        .find(|i| i.name == name)
        .cloned()
        .ok_or_else(|| refusal(404, format!("flowsight is not attached to {name:?}")))?;
    // The interface keeps its name in `p.interfaces`: its flows' last records name it.
    p.capture
        .detach_interface(name)
        .map_err(|e| refusal(status_of(&e), e.to_string()))?;
    log::warn!("control: detached from {name} through the API");
    Ok(interface_json(&iface, false))
}

fn set_settings(p: &mut Pipeline, body: &Value) -> Result<Value, Refusal> {
    let new = p.settings.apply(body).map_err(|m| refusal(400, m))?;
    if let Some(engine) = &mut p.engine {
        let mut app = engine.app_config().clone();
        app.http_headers = new.http_headers.clone();
        app.log_credentials = new.log_credentials;
        engine.set_app_config(app);
    }
    if new != p.settings {
        log::warn!(
            "control: settings changed through the API: {}",
            new.to_json()
        );
    }
    // Counts under another budget mean nothing under this one.
    p.sample_counts.clear();
    p.settings = new;
    Ok(p.settings.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_flow::Initiator;

    fn sample(sender: usize) -> Sample<'static> {
        Sample {
            key: FlowKey {
                addr: [[10, 0, 0, 1].into(), [10, 0, 0, 2].into()],
                port: [1000, 53],
                protocol: 17,
                ifindex: 1,
                vlan: 0,
            },
            sender,
            ts_ns: 0,
            tcp: None,
            payload: b"x",
            initiator: Initiator::Unknown,
            sockets: [None, None],
        }
    }

    fn settings(protocols: bool, budget: u32) -> Settings {
        Settings {
            protocols,
            sample_packets: budget,
            max_sample_packets: 8,
            http_headers: vec![],
            log_credentials: false,
        }
    }

    #[test]
    fn off_drops_and_stops_at_once() {
        let mut counts = HashMap::new();
        assert_eq!(
            admit(&settings(false, 8), &mut counts, &sample(0)),
            (false, true)
        );
    }

    #[test]
    fn the_kernel_budget_needs_no_counting() {
        let mut counts = HashMap::new();
        for _ in 0..20 {
            assert_eq!(
                admit(&settings(true, 8), &mut counts, &sample(0)),
                (true, false)
            );
        }
        assert!(counts.is_empty());
    }

    #[test]
    fn a_lower_budget_is_counted_per_direction() {
        let mut counts = HashMap::new();
        let s = settings(true, 2);
        assert_eq!(admit(&s, &mut counts, &sample(0)), (true, false));
        assert_eq!(admit(&s, &mut counts, &sample(0)), (true, false));
        assert_eq!(admit(&s, &mut counts, &sample(0)), (false, false));
        assert_eq!(admit(&s, &mut counts, &sample(1)), (true, false));
        // Both directions had theirs: the kernel is told to stop.
        assert_eq!(admit(&s, &mut counts, &sample(1)), (true, true));
        // The kernel was told; samples already on their way are dropped without telling
        // it again.
        assert_eq!(admit(&s, &mut counts, &sample(1)), (false, false));
    }
}
