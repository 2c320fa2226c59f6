import ArtifactsCore

/// swift-crypto also declares a `Digest`; in this module the name means the content digest.
public typealias Digest = ArtifactsCore.Digest
