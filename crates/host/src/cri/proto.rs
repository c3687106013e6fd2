//! The few CRI v1 messages flowsight uses, with only the fields it reads.
//!
//! Declared by hand with the field numbers of `k8s.io/cri-api` `pkg/apis/runtime/v1/api.proto`
//! (package `runtime.v1`), so no protoc is needed: protobuf skips the fields a message does not
//! declare, so an answer with everything else in it decodes the same. The tests below decode
//! bytes built from those field numbers by hand.

use std::collections::BTreeMap;

/// `VersionRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct VersionRequest {
    /// `version = 1`: the kubelet's runtime API version.
    #[prost(string, tag = "1")]
    pub version: String,
}

/// `VersionResponse`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct VersionResponse {
    /// `version = 1`.
    #[prost(string, tag = "1")]
    pub version: String,
    /// `runtime_name = 2`: `containerd`, `cri-o`.
    #[prost(string, tag = "2")]
    pub runtime_name: String,
    /// `runtime_version = 3`.
    #[prost(string, tag = "3")]
    pub runtime_version: String,
    /// `runtime_api_version = 4`: `v1`.
    #[prost(string, tag = "4")]
    pub runtime_api_version: String,
}

/// `ContainerStatusRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ContainerStatusRequest {
    /// `container_id = 1`.
    #[prost(string, tag = "1")]
    pub container_id: String,
    /// `verbose = 2`: also answer `info` (where containerd and CRI-O put the sandbox id).
    #[prost(bool, tag = "2")]
    pub verbose: bool,
}

/// `ContainerStatusResponse`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ContainerStatusResponse {
    /// `status = 1`.
    #[prost(message, optional, tag = "1")]
    pub status: Option<ContainerStatus>,
    /// `info = 2`: with `verbose`, `info["info"]` is a JSON object whose `sandboxID` names
    /// the container's pod sandbox (containerd and CRI-O both write it).
    #[prost(btree_map = "string, string", tag = "2")]
    pub info: BTreeMap<String, String>,
}

/// `ContainerStatus`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ContainerStatus {
    /// `id = 1`.
    #[prost(string, tag = "1")]
    pub id: String,
    /// `metadata = 2`.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<ContainerMetadata>,
    /// `image = 8`.
    #[prost(message, optional, tag = "8")]
    pub image: Option<ImageSpec>,
    /// `image_ref = 9`: the digested reference of the image in use.
    #[prost(string, tag = "9")]
    pub image_ref: String,
    /// `labels = 12`.
    #[prost(btree_map = "string, string", tag = "12")]
    pub labels: BTreeMap<String, String>,
}

/// `ContainerMetadata`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ContainerMetadata {
    /// `name = 1`: the container's name in the pod spec.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `attempt = 2`.
    #[prost(uint32, tag = "2")]
    pub attempt: u32,
}

/// `ImageSpec`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ImageSpec {
    /// `image = 1`: containerd answers the image's first tag here (its id when it has none).
    #[prost(string, tag = "1")]
    pub image: String,
    /// `user_specified_image = 18`: the reference as the pod spec gave it, when known.
    #[prost(string, tag = "18")]
    pub user_specified_image: String,
}

/// `PodSandboxStatusRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PodSandboxStatusRequest {
    /// `pod_sandbox_id = 1`.
    #[prost(string, tag = "1")]
    pub pod_sandbox_id: String,
    /// `verbose = 2`.
    #[prost(bool, tag = "2")]
    pub verbose: bool,
}

/// `PodSandboxStatusResponse`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PodSandboxStatusResponse {
    /// `status = 1`.
    #[prost(message, optional, tag = "1")]
    pub status: Option<PodSandboxStatus>,
}

/// `PodSandboxStatus`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PodSandboxStatus {
    /// `id = 1`.
    #[prost(string, tag = "1")]
    pub id: String,
    /// `metadata = 2`.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<PodSandboxMetadata>,
    /// `labels = 7`.
    #[prost(btree_map = "string, string", tag = "7")]
    pub labels: BTreeMap<String, String>,
}

/// `PodSandboxMetadata`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PodSandboxMetadata {
    /// `name = 1`: the pod's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `uid = 2`: the pod's uid.
    #[prost(string, tag = "2")]
    pub uid: String,
    /// `namespace = 3`: the pod's namespace.
    #[prost(string, tag = "3")]
    pub namespace: String,
    /// `attempt = 4`.
    #[prost(uint32, tag = "4")]
    pub attempt: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// A length-delimited field (wire type 2) with a one- or two-byte tag.
    fn field(number: u32, body: &[u8]) -> Vec<u8> {
        let mut out = varint(u64::from(number << 3 | 2));
        out.extend(varint(body.len() as u64));
        out.extend_from_slice(body);
        out
    }

    /// A varint field (wire type 0).
    fn int(number: u32, v: u64) -> Vec<u8> {
        let mut out = varint(u64::from(number << 3));
        out.extend(varint(v));
        out
    }

    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    /// A `map<string, string>` entry: key = 1, value = 2.
    fn entry(number: u32, k: &str, v: &str) -> Vec<u8> {
        field(
            number,
            &[field(1, k.as_bytes()), field(2, v.as_bytes())].concat(),
        )
    }

    const ID: &str = "7dea796eb5d6826a85978fa316612874aa3d576ac576495bed83d77fbc9dc744";

    #[test]
    fn decodes_a_container_status_from_the_real_field_numbers() {
        let status = [
            field(1, ID.as_bytes()),
            field(2, &[field(1, b"nginx"), int(2, 1)].concat()),
            int(3, 1), // state: CONTAINER_RUNNING, not declared: skipped
            int(4, 1_700_000_000_000_000_000), // created_at, skipped
            field(
                8,
                &[
                    field(1, b"docker.io/library/nginx:1.27"),
                    field(18, b"nginx:1.27"),
                ]
                .concat(),
            ),
            field(9, b"docker.io/library/nginx@sha256:0123"),
            entry(12, "io.kubernetes.container.name", "nginx"),
            entry(12, "io.kubernetes.pod.name", "web-0"),
            entry(13, "annotation", "skipped"),
            field(15, b"/var/log/pods/x.log"),
        ]
        .concat();
        let bytes = [
            field(1, &status),
            entry(2, "info", r#"{"sandboxID":"abc","pid":42}"#),
        ]
        .concat();
        let r = ContainerStatusResponse::decode(bytes.as_slice()).unwrap();
        let s = r.status.unwrap();
        assert_eq!(s.id, ID);
        assert_eq!(s.metadata.as_ref().unwrap().name, "nginx");
        assert_eq!(s.metadata.unwrap().attempt, 1);
        let image = s.image.unwrap();
        assert_eq!(image.image, "docker.io/library/nginx:1.27");
        assert_eq!(image.user_specified_image, "nginx:1.27");
        assert_eq!(s.image_ref, "docker.io/library/nginx@sha256:0123");
        assert_eq!(s.labels.len(), 2);
        assert_eq!(s.labels["io.kubernetes.pod.name"], "web-0");
        assert_eq!(r.info["info"], r#"{"sandboxID":"abc","pid":42}"#);
    }

    #[test]
    fn decodes_a_pod_sandbox_status_from_the_real_field_numbers() {
        let status = [
            field(1, b"abc"),
            field(
                2,
                &[
                    field(1, b"web-0"),
                    field(2, b"55c6c714-b240-4dec-9a45-57b61696ab6e"),
                    field(3, b"shop"),
                    int(4, 2),
                ]
                .concat(),
            ),
            int(3, 0),                          // state, skipped
            field(5, &field(1, b"10.244.0.7")), // network, skipped
            entry(7, "app", "web"),
        ]
        .concat();
        let bytes = [field(1, &status), int(4, 99)].concat();
        let r = PodSandboxStatusResponse::decode(bytes.as_slice()).unwrap();
        let s = r.status.unwrap();
        assert_eq!(s.id, "abc");
        let m = s.metadata.unwrap();
        assert_eq!(
            (
                m.name.as_str(),
                m.uid.as_str(),
                m.namespace.as_str(),
                m.attempt
            ),
            ("web-0", "55c6c714-b240-4dec-9a45-57b61696ab6e", "shop", 2)
        );
        assert_eq!(s.labels["app"], "web");
    }

    #[test]
    fn decodes_a_version_from_the_real_field_numbers() {
        let bytes = [
            field(1, b"0.1.0"),
            field(2, b"containerd"),
            field(3, b"v1.6.20"),
            field(4, b"v1"),
        ]
        .concat();
        let v = VersionResponse::decode(bytes.as_slice()).unwrap();
        assert_eq!(
            (
                v.version.as_str(),
                v.runtime_name.as_str(),
                v.runtime_version.as_str(),
                v.runtime_api_version.as_str()
            ),
            ("0.1.0", "containerd", "v1.6.20", "v1")
        );
        let r = VersionRequest {
            version: "v1".into(),
        };
        assert_eq!(r.encode_to_vec(), field(1, b"v1"));
    }

    #[test]
    fn encodes_requests_with_the_real_field_numbers() {
        let r = ContainerStatusRequest {
            container_id: ID.into(),
            verbose: true,
        };
        assert_eq!(
            r.encode_to_vec(),
            [field(1, ID.as_bytes()), int(2, 1)].concat()
        );
        let r = PodSandboxStatusRequest {
            pod_sandbox_id: "abc".into(),
            verbose: false,
        };
        assert_eq!(r.encode_to_vec(), field(1, b"abc"));
        // Garbage is an error, not a panic.
        assert!(ContainerStatusResponse::decode(&[0x0a, 0x05, 0x01][..]).is_err());
    }
}
