"""The SDK oracle the tests judge PerCL with (it lives in percl.sdk, shared with the simulator)."""

from percl.sdk import sdk_accepts, sdk_accepts_script, sdk_model, sdk_wire

__all__ = ["sdk_accepts", "sdk_accepts_script", "sdk_model", "sdk_wire"]
