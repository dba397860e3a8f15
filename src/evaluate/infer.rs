//! Status inference (placeholder until the inference work lands on main).
use crate::model::{Access, Stage};

/// Registry-level vocabulary additions.
#[derive(Default, Clone, Debug)]
pub struct Vocabulary {
    pub stage: Vec<(Stage, String)>,
    pub access: Vec<(Access, String)>,
}

use crate::model::{Dimension, Page, Status};

pub struct Subject {
    pub name: String,
    pub aliases: Vec<String>,
}

#[derive(serde::Serialize)]
pub struct Evidence {
    pub dimension: Dimension,
    pub value: String,
    pub quote: String,
    pub rule: String,
}

#[derive(serde::Serialize)]
pub struct Inference {
    pub status: Status,
    pub evidence: Vec<Evidence>,
    pub notes: Vec<String>,
}

pub fn infer(_page: &Page, _subject: &Subject, _extra: &Vocabulary) -> Inference {
    Inference {
        status: Status::unknown(),
        evidence: vec![],
        notes: vec![],
    }
}
