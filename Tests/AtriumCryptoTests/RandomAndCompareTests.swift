import Testing

@testable import AtriumCrypto

@Suite struct SecureRandomTests {
    @Test(arguments: [0, 1, 16, 32, 1000])
    func bytesHaveRequestedLength(_ count: Int) {
        #expect(SecureRandom.bytes(count).count == count)
    }

    @Test func bytesDiffer() {
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }

    @Test func base62UsesOnlyTheAlphabetAndAllOfIt() {
        let text = SecureRandom.base62(20_000)
        #expect(text.utf8.count == 20_000)
        let allowed = Set(SecureRandom.base62Alphabet)
        #expect(text.utf8.allSatisfy { allowed.contains($0) })
        #expect(Set(text.utf8).count == 62)
        #expect(SecureRandom.base62(0) == "")
    }

    /// A biased `byte % 62` (no rejection) would make the first 8 characters about 25% more
    /// frequent than the others (5 vs 4 preimages among 256); rejection sampling keeps them even.
    @Test func base62IsNotBiasedTowardTheFirstCharacters() {
        let sample = 248_000
        var counts = [Int](repeating: 0, count: 256)
        for byte in SecureRandom.base62(sample).utf8 { counts[Int(byte)] += 1 }
        let alphabet = SecureRandom.base62Alphabet
        let firstEight = alphabet[0..<8].reduce(0) { $0 + counts[Int($1)] }
        let lastEight = alphabet[54..<62].reduce(0) { $0 + counts[Int($1)] }
        // Expected 32,000 each; bias would give about 38,400 vs 30,700.
        let ratio = Double(firstEight) / Double(lastEight)
        #expect(ratio > 0.95 && ratio < 1.05)
    }
}

@Suite struct ConstantTimeTests {
    @Test(arguments: [
        ([], [], true),
        ([1, 2, 3], [1, 2, 3], true),
        ([1, 2, 3], [1, 2, 4], false),
        ([0, 2, 3], [1, 2, 3], false),
        ([1, 2, 3], [1, 2], false),
        ([1, 2], [1, 2, 3], false),
        ([], [0], false),
    ] as [([UInt8], [UInt8], Bool)])
    func equals(_ a: [UInt8], _ b: [UInt8], _ expected: Bool) {
        #expect(ConstantTime.equals(a, b) == expected)
    }
}
