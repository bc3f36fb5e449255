//! From the kept files to a new single-layer, non-root image (written out as an image file
//! by [`crate::archive::write_image`]).

pub mod access;
pub mod assemble;
pub mod config;
pub mod dockerfile;
pub mod gather;
pub mod kept;
pub mod layer;
pub mod package_db;
pub mod user;

use std::path::PathBuf;

use thiserror::Error;

pub use assemble::{Assembled, RebuildRecord, assemble};
pub use config::{BASE_DIGEST_LABEL, BASE_NAME_LABEL, ConfigInput, image_config};
pub use kept::KeptIndex;
pub use layer::{LayerPlan, LayerSummary, write_layer};
pub use user::{UserPlan, UserSource, plan_user};

#[derive(Debug, Error)]
pub enum RebuildError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the kept-files archive is malformed: {0}")]
    Malformed(String),
    #[error(transparent)]
    User(#[from] crate::image::UserError),
    #[error(
        "{0} switches users and needs slim's stand-in, slim-switch, which was not found next to slim (or in SLIM_SWITCH)"
    )]
    MissingSwitchShim(String),
}
