import ArtifactsLogScan
import Testing

struct JSONParserTests {
  @Test func parsesEveryKindOfValue() throws {
    let value = try JSONParser.parse(#"{"a":[1,-2.5e3,true,false,null],"b":{"c":"d"}," e ":""}"#)
    #expect(value["a"] == .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]))
    #expect(value["b"]?["c"]?.stringValue == "d")
    #expect(value[" e "]?.stringValue == "")
  }

  @Test func decodesEscapesAndSurrogatePairs() throws {
    let value = try JSONParser.parse(#""line\nquote\" \u00e9 \ud83d\ude00 \u2019 slash\/""#)
    #expect(value.stringValue == "line\nquote\" é 😀 ’ slash/")
  }

  @Test func loneSurrogateBecomesReplacementCharacter() throws {
    #expect(try JSONParser.parse(#""a\ud800b""#).stringValue == "a\u{FFFD}b")
  }

  @Test func invalidUTF8IsRepairedNotFatal() throws {
    let bytes: [UInt8] = Array(#"{"name":"caf"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
    let value = try bytes.withUnsafeBytes { try JSONParser.parse($0) }
    #expect(value["name"]?.stringValue?.hasPrefix("caf") == true)
  }

  @Test func deepNestingIsAnErrorNotACrash() {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
    let allowed = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
    #expect(throws: Never.self) { try JSONParser.parse(allowed) }
  }

  @Test(arguments: [
    #"{"a":1"#, #"{"a" 1}"#, #"[1,]"#, #"{"a":tru}"#, #""unterminated"#, #"{"a":1} trailing"#, #"{"a":"\x"}"#, "",
  ])
  func malformedInputThrowsWithOffset(_ text: String) {
    #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
  }
}
