import Foundation
import TandemDiffusion
import XCTest

final class UNet2DConfigTests: XCTestCase {
    func tinyJSON() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("tiny_unet/config.json"))) as! [String: Any]
    }

    func testReadsDiffusersConfig() throws {
        let config = try UNet2DConfig(json: tinyJSON())
        XCTAssertEqual(config.sampleSize, 8)
        XCTAssertEqual(config.blockOutChannels, [8, 16])
        XCTAssertEqual(config.downBlockTypes, [.down, .attention])
        XCTAssertEqual(config.upBlockTypes, [.attention, .up])
        XCTAssertEqual(config.numClassEmbeds, 5)
        XCTAssertEqual(config.timeEmbeddingDim, 32)
        XCTAssertFalse(config.flipSinToCos)
        XCTAssertEqual(config.freqShift, 1)
        XCTAssertEqual(config.attentionHeadDim, 8)
    }

    func testRefusesWhatItDoesNotImplement() throws {
        let refusals: [(String, Any, String)] = [
            ("time_embedding_type", "fourier", "time_embedding_type"),
            ("resnet_time_scale_shift", "scale_shift", "resnet_time_scale_shift"),
            ("down_block_types", ["DownBlock2D", "CrossAttnDownBlock2D"], "down_block_types"),
            ("up_block_types", ["SkipUpBlock2D", "UpBlock2D"], "up_block_types"),
            ("class_embed_type", "timestep", "class_embed_type"),
            ("act_fn", "gelu", "act_fn"),
            ("downsample_type", "resnet", "downsample_type"),
            ("mid_block_type", "UNetMidBlock2DCrossAttn", "mid_block_type"),
        ]
        for (key, value, named) in refusals {
            var json = try tinyJSON()
            json[key] = value
            XCTAssertThrowsError(try UNet2DConfig(json: json), key) { error in
                guard case .unsupported(let k, _, _) = error as? UNet2DConfigError else { return XCTFail("\(key): \(error)") }
                XCTAssertEqual(k, named)
                XCTAssertTrue("\(error)".contains("not supported"))
            }
        }
        var json = try tinyJSON()
        json["norm_num_groups"] = 3
        XCTAssertThrowsError(try UNet2DConfig(json: json)) { XCTAssertTrue("\($0)".contains("divisible")) }
    }

    func testSchedulerConfigRefusals() throws {
        XCTAssertThrowsError(try SchedulerConfig(json: ["beta_schedule": "squaredcos_cap_v2"]))
        XCTAssertThrowsError(try SchedulerConfig(json: ["prediction_type": "sample"]))
        XCTAssertThrowsError(try SchedulerConfig(json: ["timestep_spacing": "karras"]))
        let ok = try SchedulerConfig(json: ["prediction_type": "v_prediction", "timestep_spacing": "leading", "steps_offset": 1])
        XCTAssertEqual(ok.predictionType, .vPrediction)
        XCTAssertEqual(ok.timestepSpacing, .leading)
        XCTAssertEqual(ok.stepsOffset, 1)
    }
}
