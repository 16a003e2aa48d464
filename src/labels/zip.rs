//! A minimal ZIP writer (stored entries): QR images are already compressed, so
//! deflating them again would only cost time.

use std::io::{self, Write};

/// A ZIP archive written entry by entry to `out` (a file, say): only the
/// central directory (a few dozen bytes an entry) is kept in memory.
pub struct Writer<W: Write> {
    out: W,
    written: u64,
    central: Vec<u8>,
    entries: u16,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        Writer {
            out,
            written: 0,
            central: Vec::new(),
            entries: 0,
        }
    }

    /// Bytes written to `out` so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Adds one stored entry. Past 4 GiB or 65,535 entries (ZIP64) it refuses.
    pub fn add(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let too_big = || io::Error::other("the archive is larger than a plain ZIP holds");
        let crc = crc32fast::hash(data);
        let offset = u32::try_from(self.written).map_err(|_| too_big())?;
        let size = u32::try_from(data.len()).map_err(|_| too_big())?;
        self.entries = self.entries.checked_add(1).ok_or_else(too_big)?;
        let name = name.as_bytes();
        // Local file header; flag bit 11: names are UTF-8.
        let mut head = Vec::with_capacity(30 + name.len());
        head.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0x0800, 0, 0, 0x21] {
            head.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            head.extend_from_slice(&v.to_le_bytes());
        }
        head.extend_from_slice(&(name.len() as u16).to_le_bytes());
        head.extend_from_slice(&0u16.to_le_bytes());
        head.extend_from_slice(name);
        self.put(&head)?;
        self.put(data)?;

        let central = &mut self.central;
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0x0800, 0, 0, 0x21] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name.len() as u16, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
        Ok(())
    }

    /// Writes the central directory and hands `out` back.
    pub fn finish(mut self) -> io::Result<W> {
        let central_offset = u32::try_from(self.written)
            .map_err(|_| io::Error::other("the archive is larger than a plain ZIP holds"))?;
        let central = std::mem::take(&mut self.central);
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        for v in [0u16, 0, self.entries, self.entries] {
            end.extend_from_slice(&v.to_le_bytes());
        }
        end.extend_from_slice(&(central.len() as u32).to_le_bytes());
        end.extend_from_slice(&central_offset.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        self.put(&central)?;
        self.put(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unzip_reads_it_back() {
        let files = vec![
            ("A.svg".to_string(), b"<svg/>".to_vec()),
            ("Б.png".to_string(), vec![1, 2, 3]),
        ];
        let mut writer = super::Writer::new(Vec::new());
        for (name, data) in &files {
            writer.add(name, data).unwrap();
        }
        let zip = writer.finish().unwrap();
        assert_eq!(&zip[..4], b"PK\x03\x04");
        let dir = std::env::temp_dir().join(format!("qrdesk-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.zip");
        std::fs::write(&path, &zip).unwrap();
        // Python's zipfile is on every machine this project runs tests on.
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys,zipfile;z=zipfile.ZipFile(sys.argv[1]);assert z.testzip() is None;print(','.join(z.namelist()))"])
            .arg(&path)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "A.svg,Б.png");
        let _ = std::fs::remove_dir_all(dir);
    }
}
