//! Running the source image once under the sensor and learning what it touches.

pub mod inject;
pub mod options;
pub mod probes;
pub mod run;
pub mod vantage;

pub use inject::{locate_sensor, locate_switch_shim};
pub use options::{AnalysisOptions, ContinueAfter};
pub use probes::{ExecCheck, HttpCheck};
pub use run::{Analysis, AnalyzeError, analyze};
pub use vantage::ProbeFrom;
