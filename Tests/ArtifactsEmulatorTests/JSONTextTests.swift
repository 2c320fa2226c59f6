// The emulator's own JSON writer must write what a JSON parser reads back as the same tree,
// names with quotes, backslashes, control characters and non-ASCII letters included.
import Foundation
import Testing

@testable import ArtifactsEmulator

struct JSONTextTests {
  @Test func writesSortedKeysAndEachKindOfValue() {
    let text = String(
      decoding: JSONText.encode([
        "b": true, "a": 1, "c": NSNull(), "d": [1.5, Int64(-7), "x"] as [Any], "e": false, "f": Int32(3),
      ]), as: UTF8.self)
    #expect(text == #"{"a":1,"b":true,"c":null,"d":[1.5,-7,"x"],"e":false,"f":3}"#)
  }

  @Test func whatItWritesParsesBackToTheSameTree() throws {
    let name = "quote \" back\\slash \n\r\t \u{01}\u{1F} é 图 🙂 /mnt/data/a.png"
    let optionalMissing: String? = nil
    let optionalPresent: String? = "here"
    let tree: [String: Any] = [
      "object": "list", "name": name, "bytes": NSNull(), "created_at": Int64(1_796_323_234),
      "minutes": 0.5, "has_more": false, "first": optionalPresent as Any, "last": optionalMissing as Any,
      "data": [["id": "cfile_1", "nested": ["deep": [1, 2, 3]]]] as [Any],
    ]
    let parsed = try #require(
      try JSONSerialization.jsonObject(with: Data(JSONText.encode(tree))) as? [String: Any])
    #expect(parsed["name"] as? String == name)
    #expect(parsed["bytes"] is NSNull)
    #expect(parsed["created_at"] as? Int == 1_796_323_234)
    #expect(parsed["minutes"] as? Double == 0.5)
    #expect(parsed["has_more"] as? Bool == false)
    #expect(parsed["first"] as? String == "here")
    #expect(parsed["last"] is NSNull)
    let data = try #require(parsed["data"] as? [[String: Any]])
    #expect(data.first?["id"] as? String == "cfile_1")
    #expect(((data.first?["nested"] as? [String: Any])?["deep"] as? [Int]) == [1, 2, 3])
  }
}
