//! Reading large image files: generate one (many layers of random, incompressible data) and
//! read it (open, verify every digest, flatten into a RootFs), reporting time, throughput,
//! totals and peak memory. A `harness = false` bench:
//!
//! ```sh
//! cargo bench --bench read_archive -- generate /tmp/big.tar --layers 24 --layer-mb 128
//! cargo bench --bench read_archive -- generate /tmp/big-oci.tar --format oci-archive --gzip
//! cargo bench --bench read_archive -- read docker-archive:/tmp/big.tar
//! ```
//!
//! Peak memory is the process's VmHWM; run under `/usr/bin/time -v` for the same number.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use sha2::{Digest as _, Sha256};
use slim_core::archive::json::canonical_json;
use slim_core::archive::{FlattenOptions, ImageLocation, ImageSource, RootFs};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let result = match args.first().map(String::as_str) {
        Some("generate") => generate(&args[1..]),
        Some("read") => read(&args[1..]),
        // `cargo bench` with no arguments: nothing to measure without a file
        None => {
            eprintln!(
                "usage: read_archive generate OUT [--layers N] [--layer-mb M] [--format docker-archive|oci-archive] [--gzip] | read LOCATION [--work DIR]"
            );
            Ok(())
        }
        Some(other) => Err(format!("unknown mode {other:?}").into()),
    };
    if let Err(e) = result {
        eprintln!("read_archive: {e}");
        std::process::exit(1);
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn read(args: &[String]) -> Result<()> {
    let location: ImageLocation = args.first().ok_or("read needs a LOCATION")?.parse()?;
    let work = flag(args, "--work").map_or_else(std::env::temp_dir, PathBuf::from);
    let size = std::fs::metadata(location.path())?.len();
    let started = Instant::now();
    let source = ImageSource::open(&location)?;
    let opened = started.elapsed();
    let tree = RootFs::flatten(&source, &work, &FlattenOptions::default())?;
    let elapsed = started.elapsed();
    let totals = tree.totals();
    let mb = size as f64 / 1e6;
    println!(
        "file        {} ({mb:.0} MB, {} layers)",
        location.path().display(),
        source.layers.len()
    );
    println!("open        {:.3} s", opened.as_secs_f64());
    println!(
        "read+verify {:.2} s, {:.0} MB/s of file, {:.0} MB/s uncompressed",
        elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64(),
        totals.layer_bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
    println!(
        "tree        {} files, {} dirs, {} symlinks, {} hardlinks, {} others, {:.0} MB in files, {:.0} MB spilled",
        totals.files,
        totals.dirs,
        totals.symlinks,
        totals.hardlinks,
        totals.others,
        totals.file_bytes as f64 / 1e6,
        totals.spilled_bytes as f64 / 1e6
    );
    println!("peak RSS    {:.1} MiB", peak_rss_kib() as f64 / 1024.0);
    Ok(())
}

/// xorshift64*: fast, dependency-free bytes that no compressor can shrink.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

struct GeneratedLayer {
    path: PathBuf,
    diff_id: String,
    digest: String,
    size: u64,
}

/// One layer: a directory of 64 KiB..8 MiB random files adding up to `bytes`, 200 small
/// files, and a whiteout of one small file of the layer below.
fn write_layer(
    dir: &Path,
    index: usize,
    bytes: u64,
    gzip: bool,
    noise: &mut Noise,
) -> Result<GeneratedLayer> {
    let path = dir.join(format!("layer-{index}.blob"));
    let file = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    let mut diff = Sha256::new();
    struct Tee<'a, W> {
        inner: W,
        diff: &'a mut Sha256,
    }
    impl<W: Write> Write for Tee<'_, W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.diff.update(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }
    let compressed: Box<dyn Write> = if gzip {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(file)
    };
    // dropping the encoder finishes the gzip stream; dropping the BufWriter flushes it
    let mut builder = tar::Builder::new(Tee {
        inner: compressed,
        diff: &mut diff,
    });
    let header = |kind: tar::EntryType, size: u64, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        h
    };
    let dir_name = format!("data/layer-{index:03}/");
    builder.append_data(
        &mut header(tar::EntryType::Directory, 0, 0o755),
        "data/",
        io::empty(),
    )?;
    builder.append_data(
        &mut header(tar::EntryType::Directory, 0, 0o755),
        &dir_name,
        io::empty(),
    )?;
    let mut small = vec![0u8; 2048];
    for i in 0..200 {
        noise.fill(&mut small);
        builder.append_data(
            &mut header(tar::EntryType::Regular, small.len() as u64, 0o644),
            format!("{dir_name}small-{i:03}"),
            small.as_slice(),
        )?;
    }
    if index > 0 {
        let whiteout = format!("data/layer-{:03}/.wh.small-000", index - 1);
        builder.append_data(
            &mut header(tar::EntryType::Regular, 0, 0o644),
            whiteout,
            io::empty(),
        )?;
    }
    let mut left = bytes;
    let mut n = 0;
    let mut chunk = vec![0u8; 1 << 20];
    while left > 0 {
        // sizes vary between 64 KiB and 8 MiB
        let size = (64 * 1024 + (noise.0 % (8 << 20))).min(left);
        struct Random<'a> {
            noise: &'a mut Noise,
            chunk: &'a mut Vec<u8>,
            left: u64,
        }
        impl Read for Random<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.chunk.len()).min(self.left as usize);
                self.noise.fill(&mut self.chunk[..n]);
                buf[..n].copy_from_slice(&self.chunk[..n]);
                self.left -= n as u64;
                Ok(n)
            }
        }
        let reader = Random {
            noise,
            chunk: &mut chunk,
            left: size,
        };
        builder.append_data(
            &mut header(tar::EntryType::Regular, size, 0o644),
            format!("{dir_name}big-{n:04}"),
            reader,
        )?;
        left -= size;
        n += 1;
    }
    let mut tee = builder.into_inner()?;
    tee.flush()?;
    drop(tee);
    let diff_id = format!("sha256:{}", hex::encode(diff.finalize()));
    // The blob's own digest: hash the file again (cheap next to generating it).
    let mut blob_hash = Sha256::new();
    let mut file = File::open(&path)?;
    let size = io::copy(&mut file, &mut HashSink(&mut blob_hash))?;
    Ok(GeneratedLayer {
        path,
        diff_id,
        digest: format!("sha256:{}", hex::encode(blob_hash.finalize())),
        size,
    })
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn append_bytes<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_size(bytes.len() as u64);
    h.set_mode(0o644);
    builder.append_data(&mut h, name, bytes)
}

fn append_file<W: Write>(builder: &mut tar::Builder<W>, name: &str, path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    let mut h = tar::Header::new_ustar();
    h.set_size(file.metadata()?.len());
    h.set_mode(0o644);
    builder.append_data(&mut h, name, file)
}

fn generate(args: &[String]) -> Result<()> {
    let out = PathBuf::from(args.first().ok_or("generate needs an output path")?);
    let layers: usize = flag(args, "--layers").unwrap_or("24").parse()?;
    let layer_mb: u64 = flag(args, "--layer-mb").unwrap_or("128").parse()?;
    let format = flag(args, "--format").unwrap_or("docker-archive");
    let gzip = args.iter().any(|a| a == "--gzip");
    let stage = tempfile::tempdir_in(out.parent().unwrap_or(Path::new(".")))?;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let mut generated = Vec::new();
    let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, File::create(&out)?));
    for i in 0..layers {
        let layer = write_layer(stage.path(), i, layer_mb << 20, gzip, &mut noise)?;
        let name = match format {
            "docker-archive" => format!("{}/layer.tar", &layer.digest[7..]),
            _ => format!("blobs/sha256/{}", &layer.digest[7..]),
        };
        append_file(&mut builder, &name, &layer.path)?;
        std::fs::remove_file(&layer.path)?;
        generated.push(layer);
    }
    let config = canonical_json(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": generated.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
    }));
    let config_hex = hex::encode(Sha256::digest(&config));
    match format {
        "docker-archive" => {
            append_bytes(&mut builder, &format!("{config_hex}.json"), &config)?;
            let manifest = json!([{
                "Config": format!("{config_hex}.json"),
                "RepoTags": ["bench/big:1"],
                "Layers": generated.iter().map(|l| format!("{}/layer.tar", &l.digest[7..])).collect::<Vec<_>>(),
            }]);
            append_bytes(
                &mut builder,
                "manifest.json",
                &serde_json::to_vec(&manifest)?,
            )?;
        }
        "oci-archive" => {
            append_bytes(&mut builder, &format!("blobs/sha256/{config_hex}"), &config)?;
            let media = if gzip {
                "application/vnd.oci.image.layer.v1.tar+gzip"
            } else {
                "application/vnd.oci.image.layer.v1.tar"
            };
            let manifest = canonical_json(&json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_hex}"), "size": config.len()},
                "layers": generated.iter().map(|l| json!({"mediaType": media, "digest": l.digest, "size": l.size})).collect::<Vec<_>>(),
            }));
            let manifest_hex = hex::encode(Sha256::digest(&manifest));
            append_bytes(
                &mut builder,
                &format!("blobs/sha256/{manifest_hex}"),
                &manifest,
            )?;
            let index = canonical_json(&json!({
                "schemaVersion": 2,
                "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{manifest_hex}"), "size": manifest.len()}],
            }));
            append_bytes(&mut builder, "index.json", &index)?;
            append_bytes(
                &mut builder,
                "oci-layout",
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )?;
        }
        other => return Err(format!("unknown format {other:?}").into()),
    }
    builder.into_inner()?.flush()?;
    println!(
        "wrote {} ({:.0} MB, {layers} layers) in {:.1} s",
        out.display(),
        std::fs::metadata(&out)?.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
