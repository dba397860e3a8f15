//! Status inference (placeholder until the inference work lands on main).
use crate::model::{Access, Stage};

/// Registry-level vocabulary additions.
#[derive(Default, Clone, Debug)]
pub struct Vocabulary {
    pub stage: Vec<(Stage, String)>,
    pub access: Vec<(Access, String)>,
}
