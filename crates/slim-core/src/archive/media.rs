//! Media types of the OCI and Docker image formats, and how a layer is compressed.

pub const OCI_LAYOUT_VERSION: &str = "1.0.0";

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// what a docker-save legacy layer (`<id>/layer.tar`) is, had it a media type
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The annotation naming an image in an OCI layout's index.json.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's (and Docker 25+'s) full image name annotation.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

pub fn is_manifest(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
}

/// Whether a layer media type is one this reader can unpack (any compression suffix; the
/// bytes decide the compression, see [`Compression::sniff`]).
pub fn is_layer(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.")
}

/// How a layer blob is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

impl Compression {
    /// What the media type says.
    pub fn from_media_type(media_type: &str) -> Compression {
        if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
            Compression::Gzip
        } else if media_type.ends_with("+zstd") || media_type.ends_with(".zstd") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// What the first bytes say; `None` when they are too few to tell.
    pub fn from_magic(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&GZIP_MAGIC) {
            Some(Compression::Gzip)
        } else if head.starts_with(&ZSTD_MAGIC) {
            Some(Compression::Zstd)
        } else if head.len() >= ZSTD_MAGIC.len() {
            Some(Compression::None)
        } else {
            None
        }
    }

    /// The bytes win over the label: docker-save layers carry no media type at all, and a
    /// mislabelled blob still unpacks (its digests are checked either way).
    pub fn sniff(media_type: &str, head: &[u8]) -> Compression {
        Compression::from_magic(head).unwrap_or_else(|| Compression::from_media_type(media_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_and_magic() {
        assert_eq!(
            Compression::from_media_type(OCI_LAYER_GZIP),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_media_type(DOCKER_LAYER_GZIP),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_media_type(OCI_LAYER_ZSTD),
            Compression::Zstd
        );
        assert_eq!(Compression::from_media_type(OCI_LAYER), Compression::None);
        assert_eq!(
            Compression::sniff(OCI_LAYER, &[0x1f, 0x8b, 8, 0]),
            Compression::Gzip
        );
        assert_eq!(
            Compression::sniff(OCI_LAYER_GZIP, b"etc/"),
            Compression::None
        );
        assert_eq!(Compression::sniff(OCI_LAYER_ZSTD, b""), Compression::Zstd);
        assert!(is_layer(
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        ));
        assert!(!is_layer(OCI_CONFIG));
    }
}
