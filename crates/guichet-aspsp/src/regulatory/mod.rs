//! The regulatory statistics of the dedicated interface (portal, "Regulatory publications";
//! RTS (EU) 2018/389 art. 32(4); EBA/GL/2018/07 guidelines 2.2–2.4).
//!
//! [`recorder`] counts each API call's outcome in per-minute aggregates, in memory, and writes
//! the complete minutes to the shared table `api_minutes` (one row per minute, bank, API
//! version, category and server instance), so that years of traffic stay small and every
//! instance of a deployment contributes. [`compute`] turns the minutes of a period into daily
//! figures — uptime and unplanned downtime by GL 2.4's rule, planned downtime (the maintenance
//! windows), average response times of AIS, PIS and CBPII calls, error-response rate — per API
//! version, each version being a separate interface. [`report`] prints them as CSV, JSON or a
//! self-contained HTML page a bank can publish as is.

mod chart;
pub mod compute;
pub mod recorder;
pub mod report;

pub use compute::{DayStats, FAILURES_FOR_DOWNTIME, Summary, daily, quarter_days, summarize};
pub use recorder::{
    ALL_CATEGORIES, API_VERSION, Call, Category, Recorder, SLOW_MICROS, api_version_of,
    category_of, classify,
};
pub use report::{CSV_HEADER, Report, csv};
