-- wrk script: post one fixed record-callback-sized JSON body to the bare route.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"requestType":"record","callId":"CA0000000000000000000000000000000000000000","accountId":"AC0000000000000000000000000000000000000000","from":"+13125550100","to":"+13125550199","callStatus":"inProgress","direction":"inbound","conferenceId":null,"queueId":null,"parentCallId":null,"recordingId":"RE0000000000000000000000000000000000000000","recordingUrl":"https://example.com/x.wav","recordingSize":"96044","recordingFormat":"audio/wav","recordingDurationSec":6,"termReason":"finishKey","privacyMode":false}'
