import LLMQTools
import Prometheus

extension PrometheusCollectorRegistry {
    /// What `/metrics` would show now.
    var samples: PrometheusText {
        var buffer: [UInt8] = []
        self.emit(into: &buffer)
        return PrometheusText(String(decoding: buffer, as: UTF8.self))
    }
}
