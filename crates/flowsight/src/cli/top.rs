//! `flowsight top`: its flags (live's, plus replaying a capture) and resolved settings.

use super::seconds;
use super::{LiveArgs, LiveConfig};
use anyhow::{Result, bail};
use clap::Args;
use flowsight_flow::Timeouts;
use std::time::Duration;

/// `flowsight top` as typed: a capture file to replay, or the flags of `flowsight live`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Replay this capture file ('-': standard input) instead of capturing live. A capture
    /// has no process owners: group by host (h) or flow (f).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Option<String>,
    /// With -r: replay at the capture's own pace times X (2: twice as fast) instead of all
    /// at once.
    #[arg(long, value_name = "X", requires = "read")]
    pub speed: Option<f64>,
    /// Live capture, as `flowsight live` (whatever --active-timeout says, top has every open
    /// flow reported at each flow-map scan, once a second, so rates move every second).
    #[command(flatten)]
    pub live: LiveArgs,
}

/// `flowsight top`, resolved.
#[derive(Debug, Clone)]
pub enum TopConfig {
    /// Live capture (boxed: a live configuration is large and there is one per run).
    Live(Box<LiveConfig>),
    /// A capture file replayed.
    Replay(ReplayConfig),
}

/// `flowsight top -r FILE`, resolved.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// The capture file, or `-`.
    pub file: String,
    /// Engine settings.
    pub engine: flowsight_flow::EngineConfig,
    /// Pace: capture time divided by this (None: all at once).
    pub speed: Option<f64>,
}

impl TopArgs {
    /// Check the flags and build the settings.
    ///
    /// Top needs an interim record of every open flow at every flow-map scan (once a second),
    /// so each refresh has fresh rates. An active timeout equal to the scan period beats
    /// against it (a flow reported a hair less than a period ago waits a whole period, and a
    /// steady 100 KiB/s showed as 0, 200, 100 KiB/s); half the period gives exactly one record
    /// per open flow per scan.
    pub fn resolve(&self) -> Result<TopConfig> {
        if self.live.output != "-" {
            bail!("top draws on the terminal; -o/--output is for `flowsight live` and `read`");
        }
        let Some(file) = &self.read else {
            let mut cfg = self.live.resolve()?;
            let active = cfg.scan_interval.as_nanos() as u64 / 2;
            cfg.timeouts.active_ns = active;
            if let Some(engine) = &mut cfg.engine {
                engine.timeouts.active_ns = active;
            }
            return Ok(TopConfig::Live(Box::new(cfg)));
        };
        if !self.live.interfaces.is_empty() || self.live.netns.is_some() {
            bail!("-i and --netns are for live capture, not with -r");
        }
        let speed = match self.speed {
            Some(x) if !x.is_finite() || x <= 0.0 => {
                bail!("--speed must be a positive number, got {x}")
            }
            s => s,
        };
        let idle = seconds("idle-timeout", self.live.idle_timeout, false)?;
        // Paced, a window is `speed` seconds of capture (one of the wall clock): half that, as
        // live. At once there is one window, and interim records would only cost time.
        let active = match speed {
            Some(x) => Duration::from_secs_f64(x / 2.0).max(Duration::from_millis(1)),
            None => seconds("active-timeout", self.live.active_timeout, false)?,
        }
        .as_nanos() as u64;
        Ok(TopConfig::Replay(ReplayConfig {
            file: file.clone(),
            engine: flowsight_flow::EngineConfig {
                timeouts: Timeouts {
                    idle_ns: idle.as_nanos() as u64,
                    active_ns: active,
                    linger_ns: Timeouts::default().linger_ns,
                },
                analyze: !self.live.analysis.no_protocols,
                app: self.live.analysis.resolve()?,
                flow_records: true,
            },
            speed,
        }))
    }
}
