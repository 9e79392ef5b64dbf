"""PerCL, FreeClimb's call-control language, as checked Python objects.

Every command refuses bad attributes when it is built, and a :class:`Script` refuses commands
FreeClimb would never run, so a mistake surfaces in your editor or tests, not on a live call.
"""

from percl.commands import (
    BUILTIN_GRAMMARS,
    COMMANDS,
    CONFERENCE_BEEPS,
    GRAMMAR_TYPES,
    IF_MACHINE_ACTIONS,
    KEYS,
    LANGUAGES,
    TTS_ENGINES,
    AddToConference,
    AudioStream,
    CreateConference,
    Dequeue,
    Enqueue,
    GetDigits,
    GetSpeech,
    Hangup,
    OutDial,
    Park,
    Pause,
    Play,
    PlayEarlyMedia,
    RecordUtterance,
    Redirect,
    Reject,
    RemoveFromConference,
    Say,
    SendDigits,
    SetDTMFPassThrough,
    SetListen,
    SetTalk,
    Sms,
    StartRecordCall,
    TerminateConference,
    TranscribeRecord,
    TranscribeUtterance,
    TTSEngine,
    Unpark,
)
from percl.errors import PerclError
from percl.model import Command, parse_command
from percl.script import Script, check

__all__ = [
    "AddToConference", "AudioStream", "BUILTIN_GRAMMARS", "COMMANDS", "CONFERENCE_BEEPS",
    "Command", "CreateConference", "Dequeue", "Enqueue", "GRAMMAR_TYPES", "GetDigits", "GetSpeech",
    "Hangup", "IF_MACHINE_ACTIONS", "KEYS", "LANGUAGES", "OutDial", "Park", "Pause", "PerclError",
    "Play", "PlayEarlyMedia", "RecordUtterance", "Redirect", "Reject", "RemoveFromConference",
    "Say", "Script", "SendDigits", "SetDTMFPassThrough", "SetListen", "SetTalk", "Sms",
    "StartRecordCall", "TTSEngine", "TTS_ENGINES", "TerminateConference", "TranscribeRecord",
    "TranscribeUtterance", "Unpark", "check", "parse_command",
]
