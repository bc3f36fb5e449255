//! How the pipeline shows what it does without knowing how that is shown (spinners, plain
//! lines, nothing): stages with progress messages, notes and warnings, and the time each
//! stage took.

use std::time::Duration;

use crate::progress::Progress;
use crate::report::StageTime;

/// Where the pipeline's stages, notes and warnings go (the command line's printer, or
/// nothing).
pub trait Display: Send + Sync {
    /// A stage starts; its progress messages go to the returned handle until it ends.
    fn stage(&self, name: &str) -> Box<dyn StageHandle + '_>;
    fn note(&self, text: &str);
    fn warn(&self, text: &str);
}

/// A running stage.
pub trait StageHandle: Progress {
    /// It succeeded, with a one-line summary; returns how long it took.
    fn done(self: Box<Self>, summary: &str) -> Duration;
    /// It failed (the error is reported by whoever handles it).
    fn fail(self: Box<Self>);
}

/// Shows nothing.
pub struct Hidden;

struct HiddenStage(std::time::Instant);

impl Progress for HiddenStage {
    fn step(&self, _message: &str) {}
}

impl StageHandle for HiddenStage {
    fn done(self: Box<Self>, _summary: &str) -> Duration {
        self.0.elapsed()
    }
    fn fail(self: Box<Self>) {}
}

impl Display for Hidden {
    fn stage(&self, _name: &str) -> Box<dyn StageHandle + '_> {
        Box::new(HiddenStage(std::time::Instant::now()))
    }
    fn note(&self, _text: &str) {}
    fn warn(&self, _text: &str) {}
}

/// Stage times, recorded as the stages finish.
#[derive(Debug, Default)]
pub struct Timeline {
    pub stages: Vec<StageTime>,
}

impl Timeline {
    /// Run one stage with its progress display; record its time when it succeeds.
    pub async fn stage<T, E>(
        &mut self,
        display: &dyn Display,
        name: &str,
        work: impl AsyncFnOnce(&dyn Progress) -> Result<T, E>,
        summary: impl FnOnce(&T) -> String,
    ) -> Result<T, E> {
        let stage = display.stage(name);
        match work(stage.as_ref()).await {
            Ok(value) => {
                let took = stage.done(&summary(&value));
                self.stages.push(StageTime {
                    stage: name.into(),
                    seconds: took.as_secs_f64(),
                });
                Ok(value)
            }
            Err(e) => {
                stage.fail();
                Err(e)
            }
        }
    }
}
