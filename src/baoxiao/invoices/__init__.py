"""Chinese invoices (发票): parsers (QR, PDF, XML, OFD), the registry and duplicate detection."""
