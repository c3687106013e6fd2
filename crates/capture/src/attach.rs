//! Attaching the flow-counting programs to an interface, and detaching them, while a capture
//! runs: what the web API's interface control does.

use crate::{Capture, CaptureError, Interface, interfaces, tc};

impl Capture {
    /// The capture with the TC attachments made at start-up, and how to make more.
    pub(crate) fn with_tc(mut self, links: tc::TcLinks, mode: tc::TcMode) -> Capture {
        self.tc_links = links;
        self.tc_mode = mode;
        self
    }

    /// Attach the TC programs to the interface `name` (of the capture's network namespace)
    /// now; its packets are counted from here on. Attaching an interface already attached
    /// changes nothing.
    pub fn attach_interface(&mut self, name: &str) -> Result<Interface, CaptureError> {
        let iface = interfaces::by_name(name)?;
        self.forget_stale(&iface);
        if self.tc_links.attached(iface.index) {
            return Ok(iface);
        }
        let status = tc::attach(&mut self._ebpf, &iface, self.tc_mode, &mut self.tc_links);
        if let Some(bad) = status.iter().find(|s| s.outcome.is_err()) {
            let detail = bad.outcome.as_ref().err().map(|f| f.error.clone());
            // One direction may have attached before the other failed: none or both.
            let _ = tc::detach(&mut self._ebpf, &mut self.tc_links, iface.index);
            return Err(CaptureError::Required {
                what: format!("attaching {} to {}", bad.program, bad.target),
                detail: detail.unwrap_or_default(),
            });
        }
        self.interfaces.retain(|i| i.index != iface.index);
        self.interfaces.push(iface.clone());
        Ok(iface)
    }

    /// Forget attachments to an interface that had `iface`'s name but is gone (deleted, and
    /// maybe made again with a new index): its links died with it, and a detach by name must
    /// find the interface of that name now.
    fn forget_stale(&mut self, iface: &Interface) {
        let stale: Vec<u32> = self
            .interfaces
            .iter()
            .filter(|i| i.name == iface.name && i.index != iface.index)
            .map(|i| i.index)
            .collect();
        for index in stale {
            // The kernel removed the links with the device; this only drops flowsight's ids.
            let _ = tc::detach(&mut self._ebpf, &mut self.tc_links, index);
            self.interfaces.retain(|i| i.index != index);
        }
    }

    /// Detach the TC programs from the interface `name`: its packets are no longer counted
    /// (its flows end by the idle timeout, with what was counted until now). False when
    /// nothing was attached to it.
    pub fn detach_interface(&mut self, name: &str) -> Result<bool, CaptureError> {
        if let Ok(current) = interfaces::by_name(name) {
            self.forget_stale(&current);
        }
        let Some(index) = self
            .interfaces
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.index)
        else {
            return Ok(false);
        };
        self.interfaces.retain(|i| i.index != index);
        tc::detach(&mut self._ebpf, &mut self.tc_links, index)
            .map(|n| n > 0)
            .map_err(|detail| CaptureError::Required {
                what: format!("detaching from {name}"),
                detail,
            })
    }
}
