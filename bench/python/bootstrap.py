"""get_community_invitation as a Python 3 + boto3 Lambda function, for the cold-start comparison of rsvp-bench.

It speaks the Lambda Runtime API itself (as a custom runtime's bootstrap does), creates its boto3 client once at
init as a Python function would, and answers each event with one GetItem of the invitation, as JSON. It does less
than rsvp's function (no membership check, no wire mapping), which only flatters Python.
"""

import json
import os
import urllib.request

import boto3

RUNTIME = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
TABLE = os.environ["RSVP_TABLE_NAME"]
dynamodb = boto3.client("dynamodb")  # endpoint and credentials from the environment, as in Lambda


def handle(event):
    invitation_id = event["pathParameters"]["invitationId"]
    key = {"PK": {"S": "INVITATION#" + invitation_id}, "SK": {"S": "#INVITATION"}}
    item = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
    if item is None:
        return {"statusCode": 404, "body": json.dumps({"Message": "Invitation not found."})}
    plain = {name: next(iter(value.values())) for name, value in item.items()}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(plain, default=str)}


def post(path, payload):
    request = urllib.request.Request(RUNTIME + path, data=json.dumps(payload).encode(), method="POST")
    urllib.request.urlopen(request).read()


def main():
    while True:
        with urllib.request.urlopen(RUNTIME + "/invocation/next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read())
        try:
            answer = handle(event)
        except Exception as error:  # reported to the Runtime API as Lambda's runtimes do
            post(f"/invocation/{request_id}/error", {"errorMessage": str(error), "errorType": type(error).__name__})
            continue
        post(f"/invocation/{request_id}/response", answer)


if __name__ == "__main__":
    main()
