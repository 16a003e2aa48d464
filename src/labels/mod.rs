//! Everything printed: QR images now; sheets, posters and ZPL build on them.

pub mod qr;
