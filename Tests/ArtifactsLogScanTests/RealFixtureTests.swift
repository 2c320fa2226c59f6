// Every recorded file in Tests/Fixtures/real (copied from ../shared/fixtures/real, see its
// SOURCES.md) yields exactly the citations it holds. The expectations were computed
// independently (Python, slicing by code points) and checked against SOURCES.md.
import ArtifactsCore
import ArtifactsLogScan
import ArtifactsTestSupport
import Foundation
import Testing

struct ExpectedCitation: Sendable, CustomStringConvertible {
  var container: String
  var file: String
  var filename: String
  var start: Int
  var end: Int
  var response: String?

  /// A non-empty span covers exactly the sandbox link; a displayed plot's [0,0] covers nothing.
  var citedText: String { start == end ? "" : "sandbox:/mnt/data/\(filename)" }
  var description: String { "\(file) \(filename) [\(start),\(end)]" }
}

private func cite(_ container: String, _ file: String, _ name: String, _ start: Int, _ end: Int, _ response: String?)
  -> ExpectedCitation
{
  ExpectedCitation(container: container, file: file, filename: name, start: start, end: end, response: response)
}

let realFixtureExpectations: [String: [ExpectedCitation]] = [
  "openai-docs-container-file-object.json": [],
  "pydantic-ai-ci-csv-gpt5.file-metadata.json": [],
  "pydantic-ai-ci-csv-gpt5-stream.file-metadata.json": [],
  "pydantic-ai-ci-csv-gpt55-a.file-metadata.json": [],
  "pydantic-ai-ci-csv-gpt55-a-stream.file-metadata.json": [],
  "openai-docs-guide-message-rgb-histogram.json": [
    cite(
      "cntr_682d513bb0c48191b10bd4f8b0b3312200e64562acc2e0af", "cfile_682d514b2e00819184b9b07e13557f82",
      "cfile_682d514b2e00819184b9b07e13557f82.png", 0, 0, nil)
  ],
  "openai-dotnet-ci-csv-plot-stream-async.sse": [
    cite(
      "cntr_68d5f33f25088190807fd0fa70fd19a00a3d0a0126c61519", "cfile_68d5f34d20308191aa8dd9ce70863c7f",
      "cfile_68d5f34d20308191aa8dd9ce70863c7f.png", 0, 0, "resp_68d5f33d74848197b17ad843c9d1f66600be77ba700fa8ec")
  ],
  "openai-dotnet-ci-csv-plot-stream.sse": [
    cite(
      "cntr_68d5f2ff755081909108df3898ede7a50cf76b1756858cda", "cfile_68d5f31200208191afd3130709930804",
      "cfile_68d5f31200208191afd3130709930804.png", 0, 0, "resp_68d5f2fd7a9481948c56a804593e7b060eb1ac777f9e7501")
  ],
  "openai-dotnet-ci-sine-log-async.json": [
    cite(
      "cntr_68d5f126abec819083aa6ca332e753450445cbdca58a831a", "cfile_68d5f132ee6c8191b792cfcea1e3b0f6",
      "sine_wave_chart.png", 151, 188, "resp_68d5f1249f848196915ad3fcda82687d02703c504b20f452"),
    cite(
      "cntr_68d5f126abec819083aa6ca332e753450445cbdca58a831a", "cfile_68d5f132ee2c8191941ede3a614f02a3",
      "debug_log.txt", 217, 248, "resp_68d5f1249f848196915ad3fcda82687d02703c504b20f452"),
  ],
  "openai-dotnet-ci-sine-log.json": [
    cite(
      "cntr_68d5efaf9e248190b2cee604aeb6ae350f6f04931220df19", "cfile_68d5efbdbf1481919739ea544a075837",
      "matplotlib_debug.log", 170, 208, "resp_68d5efac81348194973e5299ddacf0a3054a72cd66b99250"),
    cite(
      "cntr_68d5efaf9e248190b2cee604aeb6ae350f6f04931220df19", "cfile_68d5efbdbf308191ac9c1ca19aaa5792",
      "sine_wave_chart.png", 243, 280, "resp_68d5efac81348194973e5299ddacf0a3054a72cd66b99250"),
  ],
  "openai-dotnet-ci-sine-pr889-async.json": [
    cite(
      "cntr_695ea008af9c81918f7abf16fc9b58fc0d20fab72d40c72d", "cfile_695ea018e9f88191a6581622fcc183ad",
      "sine_wave_chart.png", 564, 601, "resp_05f6907ebaa3686a00695e9ffb9aec8191a5ea274e09306766")
  ],
  "openai-dotnet-ci-sine-pr889.json": [
    cite(
      "cntr_695e9d7967a88191a2857e51bfd13af30b718c43d4ece1d8", "cfile_695e9dcbd8ac8191989f768d2e6dcf66",
      "sine_wave_chart.png", 3221, 3258, "resp_08005d39aefa77b200695e9d733220819f95db7d6ec9b8840b")
  ],
  "openai-dotnet-ci-uploaded-files-async.json": [
    cite(
      "cntr_68d5f3626ebc8190958fa76ed1a4ece40a07b0d16e259de8", "cfile_68d5f370c4c881918332806b7a6d6971",
      "cfile_68d5f370c4c881918332806b7a6d6971.png", 0, 0, "resp_68d5f36084508196ab00ab1e8c53f09809e3f953a6c955fc")
  ],
  "openai-dotnet-ci-uploaded-files.json": [
    cite(
      "cntr_68d5f327b91c81909435d275fe074b49093afed850f1b7c8", "cfile_68d5f33c3858819192ae1a58775ed834",
      "ages_bar_chart.png", 170, 206, "resp_68d5f324fb4c8196927527007172f9d00aafb0eb365d479b")
  ],
  "pydantic-ai-ci-chart-2025-09-18.json": [
    cite(
      "cntr_68cc8499e0c48191841feeb7f14a9d2e066423ab27e58f8e", "cfile_68cc84a830a081919b3bd649a4730535",
      "cfile_68cc84a830a081919b3bd649a4730535.png", 0, 0, "resp_68cc84978d4c819dad1933fa64334bcb07865e46140d854a"),
    cite(
      "cntr_68cc8499e0c48191841feeb7f14a9d2e066423ab27e58f8e", "cfile_68cc84ab62bc8191acfc60bc42878b61",
      "y_equals_x_squared.png", 94, 134, "resp_68cc84978d4c819dad1933fa64334bcb07865e46140d854a"),
  ],
  "pydantic-ai-ci-chart-2025-09-19.json": [
    cite(
      "cntr_68cdbdbe063c8191af49ce89afa31212058dc53483a314bd", "cfile_68cdbdcc07748191845dd72bed33f484",
      "cfile_68cdbdcc07748191845dd72bed33f484.png", 0, 0, "resp_68cdbdba3dd081a08e8bab4fbaa58e900dbe8533c6078510"),
    cite(
      "cntr_68cdbdbe063c8191af49ce89afa31212058dc53483a314bd", "cfile_68cdbdd0974881918124b2a883456581",
      "y_equals_x_squared.png", 94, 134, "resp_68cdbdba3dd081a08e8bab4fbaa58e900dbe8533c6078510"),
  ],
  "pydantic-ai-ci-chart-stream.sse": [
    cite(
      "cntr_68dd936a4cfc81908bdd4f2a2f542b5c0a0e691ad2bfd833", "cfile_68dd937c234081919ee5238a16b4fd87",
      "cfile_68dd937c234081919ee5238a16b4fd87.png", 0, 0, "resp_06c1a26fd89d07f20068dd9367869c819788cb28e6f19eff9b"),
    cite(
      "cntr_68dd936a4cfc81908bdd4f2a2f542b5c0a0e691ad2bfd833", "cfile_68dd9381192c81918f24ee3f0294cce6",
      "y_eq_x_squared_plot.png", 91, 132, "resp_06c1a26fd89d07f20068dd9367869c819788cb28e6f19eff9b"),
  ],
  "pydantic-ai-ci-chart-turn1.json": [
    cite(
      "cntr_68cdc387531c81938b4bee78c36acb820dbd09bdba403548", "cfile_68cdc395fb4c8191b644bc65a5529a72",
      "cfile_68cdc395fb4c8191b644bc65a5529a72.png", 0, 0, "resp_68cdc382bc98819083a5b47ec92e077b0187028ba77f15f7"),
    cite(
      "cntr_68cdc387531c81938b4bee78c36acb820dbd09bdba403548", "cfile_68cdc39bba888191b47ed8bda6111395",
      "y_equals_x_squared.png", 94, 134, "resp_68cdc382bc98819083a5b47ec92e077b0187028ba77f15f7"),
  ],
  "pydantic-ai-ci-chart-turn2-futuristic.json": [
    cite(
      "cntr_68cdc387531c81938b4bee78c36acb820dbd09bdba403548", "cfile_68cdc3cdff7c8191a4fe360b433c1619",
      "cfile_68cdc3cdff7c8191a4fe360b433c1619.png", 0, 0, "resp_68cdc39da72481909e0512fef9d646240187028ba77f15f7"),
    cite(
      "cntr_68cdc387531c81938b4bee78c36acb820dbd09bdba403548", "cfile_68cdc3d48dfc819194084d06ee019433",
      "y_equals_x_squared_futuristic.png", 166, 217, "resp_68cdc39da72481909e0512fef9d646240187028ba77f15f7"),
  ],
  "pydantic-ai-ci-csv-gpt5-stream.sse": [
    cite(
      "cntr_69db679a4acc819090164cdb158e4cc8097e8d60e2667b64", "cfile_69db67a5cd4c81919392ad79a3bc44f3",
      "numbers_and_squares.csv", 61, 102, "resp_07ae49dcf36c24d10069db679a12e48194871d6fc6d07601bd")
  ],
  "pydantic-ai-ci-csv-gpt5.json": [
    cite(
      "cntr_69db6645a3e88190aa856cd9e259c1e7078ceb1b33d2c731", "cfile_69db6650a6fc8191919d27a79b8e1633",
      "numbers_squares.csv", 106, 143, "resp_08878b9ae73ae3ca0069db664575c481959d2689fe9d4e4597")
  ],
  "pydantic-ai-ci-csv-gpt55-a-stream.sse": [
    cite(
      "cntr_6a4f0acd44908190b2981a1da3cf2eb2037faeac067a095f", "cfile_6a4f0ad1565481919b5dac39e3d87ab2",
      "numbers_and_squares.csv", 57, 98, "resp_04d8612ea354738d006a4f0acccb2c819488cd46e65a049142")
  ],
  "pydantic-ai-ci-csv-gpt55-a.json": [
    cite(
      "cntr_6a4f0ac6e7608190a20742cb2eb8635d0cf302147856297d", "cfile_6a4f0acb1f9481918c9f3a5b6c8ab20f",
      "numbers_and_squares.csv", 30, 71, "resp_0285654db309dc08006a4f0ac6610c81969ffcd6c7ebbe420a")
  ],
  "pydantic-ai-ci-csv-gpt55-b-stream.sse": [
    cite(
      "cntr_6a50378a8e148190b261a3aa6ec9892c0075e4a12afea84e", "cfile_6a503793ad68819185972c63815155f7",
      "numbers_and_squares.csv", 57, 98, "resp_0fa6e7a3804929fc006a50378a117c8195aadfb12ae2143e77")
  ],
  "pydantic-ai-ci-csv-gpt55-b.json": [
    cite(
      "cntr_6a503781cc60819088f5e077f8f1789206be6a5b51a64102", "cfile_6a50378881308191aafa41e291ebe004",
      "numbers_and_squares.csv", 57, 98, "resp_01c938e03eade4da006a503781543c8195a5db985bd26dfbf5")
  ],
  "vercel-ai-openai-code-interpreter-dice-csv-stream.jsonl": [
    cite(
      "cntr_68c2e6f380d881908a57a82d394434ff02f484f5344062e9", "cfile_68c2e7084ab48191a67824aa1f4c90f1",
      "roll2dice_sums_10000.csv", 423, 465, "resp_68c2e6efa238819383d5f52a2c2a3baa02d3a5742c7ddae9")
  ],
  "vercel-ai-openai-code-interpreter-dice-txt.json": [
    cite(
      "cntr_6903bf2c0470819090b2b1e63e0b66800c139a5d654a42ec", "cfile_6903bf45e3288191af3d56e6d23c3a4d",
      "two_dice_sums_10000.txt", 195, 236, "resp_024ee52fc1900767006903bf276a60819395647a8a01d4a3d8")
  ],
]

struct RealFixtureTests {
  /// Every log-like file in the fixture folder has an expectation: a new recording cannot be
  /// added without saying what it cites.
  @Test func everyFixtureHasAnExpectation() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: TestPaths.realFixtures.path)
      .filter { !$0.hasSuffix(".md") && !$0.hasSuffix(".bin") && !$0.hasSuffix(".txt") }
    #expect(Set(names) == Set(realFixtureExpectations.keys))
  }

  @Test(arguments: realFixtureExpectations.keys.sorted())
  func fixtureYieldsExactlyItsCitations(_ name: String) throws {
    let expected = try #require(realFixtureExpectations[name])
    let result = LogScanner().scan(path: TestPaths.realFixture(name))
    #expect(result.findings.diagnostics.isEmpty, "\(result.findings.diagnostics)")
    #expect(result.skippedRecords == 0)
    let found = result.findings.citations
    #expect(found.count == expected.count, "found \(found.map { "\($0.file.fileID) \($0.filename)" })")
    for (citation, expectation) in zip(found, expected) {
      #expect(citation.file.containerID == expectation.container)
      #expect(citation.file.fileID == expectation.file)
      #expect(citation.filename == expectation.filename)
      #expect(citation.startIndex == expectation.start)
      #expect(citation.endIndex == expectation.end)
      #expect(citation.citedText == expectation.citedText, "\(expectation)")
      #expect(citation.response?.id == expectation.response)
      #expect(citation.location.path == TestPaths.realFixture(name))
      #expect(citation.location.line >= 1)
    }
  }

  @Test func streamProvenanceNamesModelAndFinalStatus() throws {
    let result = LogScanner().scan(path: TestPaths.realFixture("pydantic-ai-ci-chart-stream.sse"))
    let citation = try #require(result.findings.citations.last)
    #expect(citation.response?.model == "gpt-5-2025-08-07")
    #expect(citation.response?.createdAt == 1_759_351_655)
    #expect(citation.itemID?.hasPrefix("msg_") == true)
    #expect(citation.annotationIndex == 1)
    #expect(result.findings.responses.first?.info.status == "completed")
    #expect(result.format == .eventStream)
  }

  @Test func codeInterpreterCallsAreContainerSightings() throws {
    let result = LogScanner().scan(path: TestPaths.realFixture("openai-dotnet-ci-uploaded-files-async.json"))
    #expect(result.findings.sightings.count == 4)
    #expect(
      Set(result.findings.sightings.map(\.containerID)) == ["cntr_68d5f3626ebc8190958fa76ed1a4ece40a07b0d16e259de8"])
    #expect(result.findings.sightings.allSatisfy { $0.callID?.hasPrefix("ci_") == true })
  }

  @Test func textWithCurlyQuotesBeforeTheSpanIsSlicedByScalars() throws {
    // The text has ’ before the span: UTF-8 byte offsets would cut the wrong characters.
    let result = LogScanner().scan(path: TestPaths.realFixture("pydantic-ai-ci-chart-turn1.json"))
    #expect(result.findings.citations.last?.citedText == "sandbox:/mnt/data/y_equals_x_squared.png")
  }
}
