// The binary only hands over to ArtifactsCLI, so tests can drive every command in-process.
import ArtifactsCLI

@main
extension ArtifactsCommand {}
