//! Process CPU and memory, read through sysinfo, for mining statistics.

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Samples this process's resource use.
pub struct ProcessSampler {
    system: System,
    pid: Option<Pid>,
}

/// CPU time used so far and resident memory, at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessSample {
    /// Total CPU time of the process across all threads, in milliseconds.
    pub cpu_time_ms: u64,
    pub memory_bytes: u64,
}

impl ProcessSampler {
    pub fn new() -> Self {
        ProcessSampler {
            system: System::new(),
            pid: sysinfo::get_current_pid().ok(),
        }
    }

    /// Reads the current figures; zeros where the platform cannot tell.
    pub fn sample(&mut self) -> ProcessSample {
        let Some(pid) = self.pid else {
            return ProcessSample::default();
        };
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        match self.system.process(pid) {
            Some(p) => ProcessSample {
                cpu_time_ms: p.accumulated_cpu_time(),
                memory_bytes: p.memory(),
            },
            None => ProcessSample::default(),
        }
    }
}

impl Default for ProcessSampler {
    fn default() -> Self {
        Self::new()
    }
}

/// CPU use between two samples as a percentage of one core (200% is two busy cores), the way
/// `top` reports it. CPU time comes from the kernel, so this is exact even for a block mined in a
/// few milliseconds.
pub fn cpu_percent(before: &ProcessSample, after: &ProcessSample, wall_ms: f64) -> f64 {
    if wall_ms <= 0.0 {
        return 0.0;
    }
    after.cpu_time_ms.saturating_sub(before.cpu_time_ms) as f64 * 100.0 / wall_ms
}
