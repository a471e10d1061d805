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
/// `top` reports it; `None` for a window shorter than [`MIN_CPU_WINDOW`]. The kernel counts CPU
/// time in ticks (10 ms on Linux), so a block mined in 3 ms reads as 0 ms or 10 ms of CPU:
/// 0%, or over 300% on one core. Such a figure would be rounding, not a measurement.
pub fn cpu_percent(before: &ProcessSample, after: &ProcessSample, wall_ms: f64) -> Option<f64> {
    if wall_ms < MIN_CPU_WINDOW.as_secs_f64() * 1000.0 {
        return None;
    }
    Some(after.cpu_time_ms.saturating_sub(before.cpu_time_ms) as f64 * 100.0 / wall_ms)
}

/// The shortest window a CPU figure is given for: 25 of the kernel's 10 ms ticks, so the
/// rounding of the two samples moves the figure by a few percent at most.
pub const MIN_CPU_WINDOW: std::time::Duration = std::time::Duration::from_millis(250);

/// A CPU figure for people: `85%`, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuFigure(pub Option<f64>);

impl std::fmt::Display for CpuFigure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(percent) => write!(f, "{percent:.0}%"),
            None => write!(
                f,
                "not measured (under {} ms, too short for the kernel's CPU accounting)",
                MIN_CPU_WINDOW.as_millis()
            ),
        }
    }
}

/// This process's CPU and memory as `GET /status` reports them.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct ProcessUsage {
    /// CPU over the window since the previous reading, in percent of one core.
    pub cpu_percent: f64,
    /// Resident memory now.
    pub memory_bytes: u64,
}

/// Turns successive samples into [`ProcessUsage`] readings for observers that poll.
///
/// CPU use is a rate, so it needs two samples: each reading covers the time since the previous
/// one (or since the monitor was made). The kernel counts CPU time in 10 ms ticks, so a window
/// shorter than [`MIN_CPU_WINDOW`] would mostly measure rounding; a reading that comes
/// sooner repeats the last CPU figure (memory is always fresh), which also keeps several clients
/// polling at once from shrinking each other's windows to nothing.
pub struct UsageMonitor {
    sampler: ProcessSampler,
    since: std::time::Instant,
    baseline: ProcessSample,
    cpu_percent: f64,
    /// The last reading and when it was taken, for [`UsageMonitor::recent`].
    last: Option<(std::time::Instant, ProcessUsage)>,
}

impl UsageMonitor {
    pub const MIN_WINDOW: std::time::Duration = MIN_CPU_WINDOW;

    pub fn new() -> Self {
        let mut sampler = ProcessSampler::new();
        let baseline = sampler.sample();
        UsageMonitor {
            sampler,
            since: std::time::Instant::now(),
            baseline,
            cpu_percent: 0.0,
            last: None,
        }
    }

    /// The last reading if it is younger than `max_age`, else a new one: readers that poll
    /// often (a dashboard, a load balancer) share one sample instead of reading `/proc` each.
    pub fn recent(&mut self, max_age: std::time::Duration) -> ProcessUsage {
        match self.last {
            Some((at, usage)) if at.elapsed() < max_age => usage,
            _ => {
                let usage = self.usage();
                self.last = Some((std::time::Instant::now(), usage));
                usage
            }
        }
    }

    pub fn usage(&mut self) -> ProcessUsage {
        let now = std::time::Instant::now();
        let sample = self.sampler.sample();
        let window = now.duration_since(self.since);
        let window_ms = window.as_secs_f64() * 1000.0;
        if let Some(percent) = cpu_percent(&self.baseline, &sample, window_ms) {
            self.cpu_percent = percent;
            self.since = now;
            self.baseline = sample;
        }
        ProcessUsage {
            cpu_percent: self.cpu_percent,
            memory_bytes: sample.memory_bytes,
        }
    }
}

impl Default for UsageMonitor {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_cpu_figure_is_given_only_for_windows_the_kernel_can_measure() {
        let before = ProcessSample {
            cpu_time_ms: 1_000,
            memory_bytes: 0,
        };
        // One 10 ms tick in a 3 ms block: rounding, not 333%.
        let tick = ProcessSample {
            cpu_time_ms: 1_010,
            ..before
        };
        assert_eq!(cpu_percent(&before, &tick, 3.0), None);
        assert!(CpuFigure(None).to_string().contains("not measured"));
        // Two cores busy for the whole of a 500 ms window.
        let busy = ProcessSample {
            cpu_time_ms: 2_000,
            ..before
        };
        assert_eq!(cpu_percent(&before, &busy, 500.0), Some(200.0));
        assert_eq!(CpuFigure(Some(200.0)).to_string(), "200%");
    }

    #[test]
    fn usage_measures_cpu_over_the_window_since_the_last_reading() {
        let mut monitor = UsageMonitor::new();
        let first = monitor.usage();
        assert!(first.memory_bytes > 0);
        // Too soon after the baseline to measure: the initial figure stands.
        assert_eq!(first.cpu_percent, 0.0);

        // Keep this thread busy for longer than the window; the next reading covers it.
        let busy_until = Instant::now() + UsageMonitor::MIN_WINDOW * 2;
        let mut spins = 0u64;
        while Instant::now() < busy_until {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
        let busy = monitor.usage();
        assert!(busy.cpu_percent > 0.0, "{busy:?}");
        // A reading right after repeats the CPU figure rather than measuring a few µs.
        assert_eq!(monitor.usage().cpu_percent, busy.cpu_percent);
    }
}
