//! The owner of a live packet, through the same attribution `flowsight live` uses.

use flowsight_flow::{Attribution, FlowKey, SocketRef};
use flowsight_record::Owner;

/// The owner of a captured packet's local endpoint: the sender for a packet leaving the host
/// (`egress`), the receiver for one arriving. When that end has no owner but the other end
/// is a local socket too (loopback, two namespaces on one host), the other end's owner.
///
/// `key`, `sender` and `sockets` are the packet's flow as the kernel named it
/// ([`flowsight_flow::kernel::packet_flow`]).
pub fn packet_owner(
    key: &FlowKey,
    sender: usize,
    sockets: [Option<SocketRef>; 2],
    egress: bool,
    attribution: &mut dyn Attribution,
) -> Option<Owner> {
    let local = if egress { sender & 1 } else { (sender & 1) ^ 1 };
    let peer = local ^ 1;
    attribution
        .owner(
            sockets[local],
            key.endpoint(local),
            key.endpoint(peer),
            key.protocol,
        )
        .or_else(|| {
            sockets[peer].and_then(|s| {
                attribution.owner(
                    Some(s),
                    key.endpoint(peer),
                    key.endpoint(local),
                    key.protocol,
                )
            })
        })
}
