pub mod chain;
pub mod mining;
pub mod storage;
