//! Everything printed: QR images, label sheets and rolls as PDF, ZPL for
//! Zebra printers, site posters, and the alignment test page.

pub mod font;
pub mod job;
pub mod layout;
pub mod pdf;
pub mod qr;
pub mod templates;
pub mod zip;
pub mod zpl;
