//! Reusable components.

mod model_card;

pub use model_card::ModelCard;
